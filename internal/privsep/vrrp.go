package privsep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"tandem/internal/config"
	"tandem/internal/stats"
)

// The VRRP requests of the serving process (see the package comment).
const (
	opVRRPStart      = "vrrp-start"
	opVRRPReload     = "vrrp-reload"
	opVRRPStop       = "vrrp-stop"
	opVRRPStatus     = "vrrp-status"
	opVRRPSwitchover = "vrrp-switchover"
)

// Bounds of the VRRP requests. A stop waits for the priority-0 adverts and the VIP
// removal (the node bounds that to ~1s, the helper to 2s).
const (
	vrrpLoadTimeout   = 15 * time.Second
	vrrpStopTimeout   = 4 * time.Second
	vrrpStatusTimeout = time.Second
)

// VRRPControl is the VRRP node the helper runs for the serving process.
type VRRPControl interface {
	// Start loads keepalived.conf and runs it; an error refuses the start.
	Start() error
	// Reload re-reads keepalived.conf; on error the running configuration stays.
	Reload() error
	// Stop makes masters send priority 0 and remove their VIPs, then returns.
	Stop()
	// Status is what the stats page shows.
	Status() []stats.VRRPInstance
	// Switchover hands the VIPs of a MASTER instance ("" every one) over to the peers.
	Switchover(instance string) error
}

// knownOps are the requests the helper answers.
var knownOps = map[string]bool{"load": true, "bind": true,
	opVRRPStart: true, opVRRPReload: true, opVRRPStop: true, opVRRPStatus: true, opVRRPSwitchover: true}

// parseRequest decodes one request line from the serving process and checks its shape.
func parseRequest(line []byte) (request, error) {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return request{}, fmt.Errorf("bad request: %w", err)
	}
	if !knownOps[req.Op] {
		return req, fmt.Errorf("unknown request %q", req.Op)
	}
	if req.Op != "bind" && (req.Network != "" || req.Addr != "") {
		return req, fmt.Errorf("bad request: %s takes no address", req.Op)
	}
	if req.Op != opVRRPSwitchover && req.Instance != "" {
		return req, fmt.Errorf("bad request: %s takes no instance", req.Op)
	}
	return req, nil
}

// serveVRRP answers one vrrp-* request.
func serveVRRP(req request, v VRRPControl, resp *response) {
	if v == nil {
		resp.Err = "this tandem runs no VRRP in its privileged helper (no -k)"
		return
	}
	var err error
	switch req.Op {
	case opVRRPStart:
		err = v.Start()
	case opVRRPReload:
		err = v.Reload()
	case opVRRPStop:
		v.Stop()
	case opVRRPStatus:
		resp.VRRP = v.Status()
	case opVRRPSwitchover:
		err = v.Switchover(req.Instance)
	}
	var list config.ErrorList
	switch {
	case errors.As(err, &list):
		resp.Errs = list // each problem with its file and line, as the serving process logs them
	case err != nil:
		resp.Err = err.Error()
	}
}

// vrrpCall sends a vrrp-* request bounded by d.
func (c *Client) vrrpCall(op string, d time.Duration) (response, error) {
	return c.vrrpRequest(request{Op: op}, d)
}

func (c *Client) vrrpRequest(req request, d time.Duration) (response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	resp, fds, err := c.call(ctx, req)
	for _, fd := range fds {
		closeFD(fd)
	}
	if err != nil {
		return resp, err
	}
	if resp.Err != "" {
		return resp, errors.New(resp.Err)
	}
	if len(resp.Errs) > 0 {
		return resp, resp.Errs
	}
	return resp, nil
}

// StartVRRP asks the helper to load keepalived.conf and run it; the error lists every
// configuration problem (a config.ErrorList).
func (c *Client) StartVRRP() error {
	_, err := c.vrrpCall(opVRRPStart, vrrpLoadTimeout)
	return err
}

// ReloadVRRP asks the helper to reload keepalived.conf.
func (c *Client) ReloadVRRP() error {
	_, err := c.vrrpCall(opVRRPReload, vrrpLoadTimeout)
	return err
}

// StopVRRP asks the helper to stop VRRP (priority 0, VIPs removed) and waits for it.
func (c *Client) StopVRRP() error {
	_, err := c.vrrpCall(opVRRPStop, vrrpStopTimeout)
	return err
}

// VRRPStatus asks the helper for the VRRP instances, within a second.
func (c *Client) VRRPStatus() ([]stats.VRRPInstance, error) {
	resp, err := c.vrrpCall(opVRRPStatus, c.statusTimeout)
	return resp.VRRP, err
}

// VRRPSwitchover asks the helper to hand the VIPs of instance ("" every MASTER one) over
// to the peers; it answers once they are gone.
func (c *Client) VRRPSwitchover(instance string) error {
	_, err := c.vrrpRequest(request{Op: opVRRPSwitchover, Instance: instance}, vrrpStopTimeout)
	return err
}
