package httpproxy

import (
	"syscall"
	"testing"
	"time"

	"tandem/internal/config"
	"tandem/internal/idlewait"
)

// BenchmarkParkedRequest measures what a request after 3 ms of idleness costs the
// process in CPU (user+system, client and server included, the sleep too) when the
// connection was parked meanwhile ("parked": parkAfter 1 ms) and when it waited in its
// goroutine ("goroutine"): the difference is the cost of one park and wake.
func BenchmarkParkedRequest(b *testing.B) {
	for _, park := range []bool{false, true} {
		name := "goroutine"
		if park {
			name = "parked"
		}
		b.Run(name, func(b *testing.B) {
			w, err := idlewait.New(0)
			if err != nil {
				b.Skip(err)
			}
			defer w.Close()
			f := newFixtureWith(b, newBackend(fastServer(b)), func(fe *config.Frontend, g *config.Global) {
				fe.Timeouts.HTTPKeepAlive = 10 * time.Second
			}, func(h *Handler) {
				h.Idle = w
				h.parkAfter = time.Hour
				if park {
					h.parkAfter = time.Millisecond
				}
			})
			k := newKAClient(b, f.addr, len(fixedResponse))
			if err := k.do(); err != nil { // dials the server
				b.Fatal(err)
			}
			parked := 0
			b.ResetTimer()
			t0 := cpuTime()
			for i := 0; i < b.N; i++ {
				time.Sleep(3 * time.Millisecond)
				parked += w.Parked()
				if err := k.do(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpuTime()-t0).Nanoseconds())/float64(b.N), "cpu-ns/req")
			if want := map[bool]int{true: b.N}[park]; parked < want*9/10 || !park && parked != 0 {
				b.Fatalf("parked before %d of %d requests", parked, b.N)
			}
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
