package httpproxy

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentClients runs many clients at once over two servers: connections are
// parked and taken by other clients, and every response must belong to its request.
func TestConcurrentClients(t *testing.T) {
	echo := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s %d", name, r.URL.Path, len(b))
		}
	}
	a1, _ := httpServer(t, echo("web1"))
	a2, _ := httpServer(t, echo("web2"))
	f := newFixture(t, newBackend(a1, a2), nil)
	const clients, reqs = 16, 40
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cl := f.client()
			for i := 0; i < reqs; i++ {
				path := fmt.Sprintf("/c%d/r%d", c, i)
				body := bytes.Repeat([]byte("x"), (c*reqs+i)%3000)
				req, _ := http.NewRequest("POST", f.url(path), bytes.NewReader(body))
				if i%7 == 6 {
					req.Close = true
				}
				resp, err := cl.Do(req)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				parts := strings.Fields(string(b))
				if len(parts) != 3 || parts[1] != path || parts[2] != fmt.Sprint(len(body)) {
					errs <- fmt.Errorf("request %s (%d bytes) got %q", path, len(body), b)
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The client has its last response before the proxy releases the slot it held for
	// it: give the release a bounded moment.
	for i := 0; i < 200; i++ {
		held := int64(0)
		for _, s := range f.pool.Servers {
			held += s.Cur()
		}
		if held == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	var total uint64
	for _, s := range f.pool.Servers {
		total += s.Responses[1].Load()
		if s.Cur() != 0 {
			t.Errorf("server %s still holds %d slots", s.Cfg.Name, s.Cur())
		}
	}
	if total != clients*reqs {
		t.Errorf("%d 2xx responses counted, want %d", total, clients*reqs)
	}
}
