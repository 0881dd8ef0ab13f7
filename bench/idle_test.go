package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestOpenIdleKeepsEveryConnectionOpen(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	}))
	defer srv.Close()
	ic, err := openIdle(context.Background(), strings.TrimPrefix(srv.URL, "http://"), 40, 8, 10*time.Second)
	if err != nil {
		t.Fatalf("openIdle: %v", err)
	}
	defer ic.close()
	if len(ic.conns) != 40 {
		t.Fatalf("openIdle kept %d connections, want 40", len(ic.conns))
	}
	// Each connection still works: a second request on it gets an answer.
	c := ic.conns[17]
	if _, err := fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatalf("reuse idle connection: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 12)
	if n, err := c.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
		t.Fatalf("second request on an idle connection: %q, %v", buf[:n], err)
	}
}

func TestOpenIdleFailsOnErrorStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	_, err := openIdle(context.Background(), strings.TrimPrefix(srv.URL, "http://"), 10, 4, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("openIdle against a 503 server: err = %v, want a 503 error", err)
	}
}

func TestOpenIdleFailsWhenServerCloses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		fmt.Fprint(w, "bye")
	}))
	defer srv.Close()
	_, err := openIdle(context.Background(), strings.TrimPrefix(srv.URL, "http://"), 5, 2, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "closed a keep-alive") {
		t.Fatalf("openIdle against a closing server: err = %v", err)
	}
}
