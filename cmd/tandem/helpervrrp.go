package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"tandem/internal/config"
	"tandem/internal/daemon"
	"tandem/internal/ha"
	"tandem/internal/listener"
	"tandem/internal/privsep"
	"tandem/internal/stats"
)

// vrrpNode runs the VRRP node of keepalived.conf: in the serving process, or in the
// privileged helper for a serving process that dropped its privileges
// (privsep.VRRPControl).
type vrrpNode struct {
	loadVRRP func() (*config.VRRP, error)
	proxy    func() *config.Config // haproxy.cfg, for the cross-check (a nil result: none)
	check    func(context.Context, config.InProcessCheck) error
	served   func([]netip.Addr) (uint64, bool) // connections on the VIPs, to time a takeover; nil: not timed
	exited   func(error)                       // the node ended by itself (not by Stop)
	log      *slog.Logger

	mu       sync.Mutex
	node     *ha.Node
	cancel   context.CancelFunc
	done     chan struct{}
	stopping bool
}

// Start loads keepalived.conf (cross-checked against haproxy.cfg) and runs it.
func (h *vrrpNode) Start() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.node != nil || h.stopping {
		return errors.New("VRRP was started already, or stopped")
	}
	vcfg, err := loadVRRPChecked(h.loadVRRP, h.proxy(), h.log)
	if err != nil {
		return err
	}
	node, err := ha.New(vcfg, ha.Options{Logger: h.log, Check: h.check, Served: h.served})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	h.node, h.cancel, h.done = node, cancel, done
	go func() {
		err := node.Run(ctx)
		close(done)
		if ctx.Err() == nil { // not ended by Stop
			if err == nil {
				err = errors.New("VRRP stopped")
			}
			h.exited(err)
		}
	}()
	h.log.Info("VRRP started", "pid", os.Getpid(), "vrrp_instances", len(vcfg.Instances))
	return nil
}

func (h *vrrpNode) Reload() error {
	h.mu.Lock()
	node := h.node
	h.mu.Unlock()
	if node == nil {
		return errors.New("VRRP is not running")
	}
	vcfg, err := loadVRRPChecked(h.loadVRRP, h.proxy(), h.log)
	if err != nil {
		return err
	}
	return node.Reload(vcfg)
}

// Stop stops the node once (masters send priority 0 and drop their VIPs), waiting 2s
// at most; later calls wait for the same end.
func (h *vrrpNode) Stop() { h.stop() }

// stop is Stop; it reports whether the node was running.
func (h *vrrpNode) stop() bool {
	h.mu.Lock()
	running := h.node != nil && !h.stopping
	h.stopping = true
	cancel, done := h.cancel, h.done
	h.mu.Unlock()
	if cancel == nil {
		return false
	}
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		h.log.Warn("VRRP did not stop within 2s")
	}
	return running
}

// Switchover hands the VIPs of instance name ("" every MASTER one) over to the peers.
func (h *vrrpNode) Switchover(name string) error {
	h.mu.Lock()
	node := h.node
	h.mu.Unlock()
	if node == nil {
		return errors.New("VRRP is not running")
	}
	return node.Switchover(name)
}

func (h *vrrpNode) Status() []stats.VRRPInstance {
	h.mu.Lock()
	node := h.node
	h.mu.Unlock()
	if node == nil {
		return nil
	}
	return vrrpStatus(node)()
}

// runVRRPHelper is the privileged helper when tandem also runs VRRP: it serves the
// serving process's requests (load, bind, vrrp-*) and runs the VRRP node, whose
// in-process trackers ask the serving process through upcalls. It stops VRRP (VIPs
// released) and exits when the serving process goes away or on SIGTERM/SIGINT.
func runVRRPHelper(conn *net.UnixConn, loadFrom privsep.LoadFunc, loadVRRP func() (*config.VRRP, error), log *slog.Logger) int {
	signal.Ignore(syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	upConn, err := privsep.HelperUpcallConn()
	if err != nil {
		log.Error("privileged helper", "err", err)
		return 1
	}
	up := privsep.NewUpcalls(upConn)
	var last atomic.Pointer[config.Config] // the last haproxy.cfg that loaded
	load := func(src privsep.Sources) (*config.Config, error) {
		c, err := loadFrom(src)
		if err == nil {
			last.Store(c)
		}
		return c, err
	}
	v := &vrrpNode{loadVRRP: loadVRRP, check: up.Check, log: log,
		proxy: func() *config.Config {
			if c := last.Load(); c != nil {
				return c
			}
			c, _ := load(realSources())
			return c
		},
		exited: func(err error) {
			if uerr := up.VRRPExited(err); uerr != nil {
				log.Warn("cannot tell the serving process that VRRP stopped", "err", uerr)
			}
		},
	}
	served := make(chan error, 1)
	go func() { served <- privsep.ServeVRRP(conn, load, realSources(), listener.Open, v) }()
	code := 0
	select {
	case err := <-served:
		if err != nil {
			log.Error("privileged helper", "err", err)
			code = 1
		}
		if v.stop() {
			log.Warn("the serving process is gone: VRRP stopped, the VIPs are released")
		}
	case sig := <-sigs:
		log.Info("privileged helper: stopping VRRP", "signal", sig.String())
		v.Stop()
		if err := up.VRRPExited(nil); err != nil {
			log.Debug("cannot tell the serving process that VRRP stopped", "err", err)
		}
		// Let a vrrp-stop the serving process sent meanwhile (it got the signal too)
		// have its answer, and let it close first; bounded.
		select {
		case <-served:
		case <-time.After(500 * time.Millisecond):
		}
	}
	removeHelperPidfile()
	return code
}

// startVRRPInHelper starts VRRP in the privileged helper h for a serving process that
// dropped its privileges, and returns how serve reloads and stops it. VRRP ending in
// the helper is reported on vrrpDone (privsep.ErrHelperStopped when the helper was
// stopped by a signal); the helper's exit on helperGone.
func startVRRPInHelper(d *daemon.Daemon, h *confined, vrrpDone, helperGone chan<- error, log *slog.Logger) (reload func() error, stop func(), err error) {
	go func() {
		err := privsep.ServeUpcalls(h.upcalls, trackerCheck(d), func(err error) {
			select {
			case vrrpDone <- err:
			default:
			}
		})
		if err != nil {
			log.Warn("privileged helper upcalls", "err", err)
		}
	}()
	go func() {
		st, err := h.proc.Wait()
		if err == nil {
			err = fmt.Errorf("%s", st)
		}
		helperGone <- err
	}()
	if err := h.client.StartVRRP(); err != nil {
		return nil, nil, err
	}
	d.SetVRRPSwitchover(h.client.VRRPSwitchover)
	d.SetVRRPStatus(func() []stats.VRRPInstance {
		st, err := h.client.VRRPStatus()
		if err != nil {
			log.Warn("no VRRP status from the privileged helper", "err", err)
		}
		return st
	})
	stop = func() {
		if err := h.client.StopVRRP(); err != nil {
			log.Error("stopping VRRP in the privileged helper", "err", err)
		}
	}
	return h.client.ReloadVRRP, stop, nil
}
