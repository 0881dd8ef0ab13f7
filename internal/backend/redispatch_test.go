package backend

import (
	"context"
	"errors"
	"testing"

	"tandem/internal/balance"
	"tandem/internal/config"
)

func TestAcquireOtherAvoidsFailedServer(t *testing.T) {
	for _, algo := range []config.Algo{config.AlgoRoundRobin, config.AlgoLeastConn, config.AlgoFirst, config.AlgoSource} {
		cfg := &config.Backend{Name: "b", Balance: config.Balance{Algo: algo}}
		for _, n := range []string{"a", "b", "c"} {
			cfg.Servers = append(cfg.Servers, &config.Server{Name: n, Weight: 1})
		}
		p := New(cfg, NewStates())
		avoid := p.Servers[0]
		for i := range 30 {
			s, err := p.AcquireOther(context.Background(), &balance.Request{}, avoid)
			if err != nil {
				t.Fatalf("%v: pick %d: %v", algo, i, err)
			}
			if s == avoid {
				t.Fatalf("%v: pick %d chose the failed server", algo, i)
			}
			p.Release(s)
		}
	}
}

func TestAcquireOtherOnlyFailedLeft(t *testing.T) {
	cfg := &config.Backend{Name: "b", Servers: []*config.Server{{Name: "a", Weight: 1}, {Name: "b", Weight: 1}, {Name: "bk", Weight: 1, Backup: true}}}
	p := New(cfg, NewStates())
	p.Servers[1].SetUp(false)
	// the backup is not used while the failed active is still usable
	if _, err := p.AcquireOther(context.Background(), &balance.Request{}, p.Servers[0]); !errors.Is(err, ErrNoServer) {
		t.Fatalf("err = %v, want ErrNoServer", err)
	}
	p.Servers[0].SetUp(false)
	s, err := p.AcquireOther(context.Background(), &balance.Request{}, p.Servers[0])
	if err != nil || s != p.Servers[2] {
		t.Fatalf("got %v, %v; want the backup", s, err)
	}
}
