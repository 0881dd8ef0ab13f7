package check

import (
	"context"
	"testing"
	"time"

	"tandem/internal/config"
)

func BenchmarkHTTPCheck(b *testing.B) {
	addr := serve(b, func(string) string { return "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n" })
	h, _ := NewHTTP(addr, config.HealthCheck{HTTP: true, Method: "GET", URI: "/health"})
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if r := h.Check(ctx); r.Status != L7OK {
			b.Fatal(r)
		}
		cancel()
	}
}
