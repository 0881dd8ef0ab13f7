package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// idleConns holds connections that each completed one request and now sit idle.
type idleConns struct {
	conns []net.Conn
}

// openIdle opens n keep-alive connections to addr, sends one request on each,
// reads the whole response and leaves the connection open. It works with
// `workers` connections in flight and gives up when ctx ends or after timeout.
func openIdle(ctx context.Context, addr string, n, workers int, timeout time.Duration) (*idleConns, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ic := &idleConns{conns: make([]net.Conn, 0, n)}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	jobs := make(chan struct{})
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				c, err := oneRequest(ctx, addr)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
						cancel()
					}
				} else {
					ic.conns = append(ic.conns, c)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for range n {
		select {
		case jobs <- struct{}{}:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil && len(ic.conns) < n {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		ic.close()
		return nil, fmt.Errorf("open %d idle connections to %s (%d done): %w", n, addr, len(ic.conns), firstErr)
	}
	return ic, nil
}

// oneRequest dials addr and completes one keep-alive GET on it.
func oneRequest(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	dl, _ := ctx.Deadline()
	_ = c.SetDeadline(dl)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 1024), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	if err == nil && resp.Close {
		err = fmt.Errorf("server closed a keep-alive connection")
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

func (ic *idleConns) close() {
	for _, c := range ic.conns {
		c.Close()
	}
	ic.conns = nil
}

// stableRSS reads pid's RSS every 100 ms until two reads in a row agree
// within 1 %, or 10 reads were made; it returns the last read.
func stableRSS(ctx context.Context, pid int) (uint64, error) {
	prev, err := readRSS(pid)
	if err != nil {
		return 0, err
	}
	for range 10 {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		cur, err := readRSS(pid)
		if err != nil {
			return 0, err
		}
		diff := int64(cur) - int64(prev)
		if diff < 0 {
			diff = -diff
		}
		if diff*100 <= int64(prev) {
			return cur, nil
		}
		prev = cur
	}
	return prev, nil
}
