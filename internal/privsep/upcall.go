package privsep

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"tandem/internal/config"
)

// upcall is a request of the helper to the serving process, one JSON line.
type upcall struct {
	ID    uint64                 `json:"id"`
	Op    string                 `json:"op"` // "check" or "vrrp-exit"
	Check *config.InProcessCheck `json:"check,omitempty"`
	Err   string                 `json:"err,omitempty"` // vrrp-exit: why VRRP stopped; "" stopped by a signal
}

// upcallAnswer answers an upcall: Err is the failed tracker's reason.
type upcallAnswer struct {
	ID  uint64 `json:"id"`
	Err string `json:"err,omitempty"`
}

const (
	upcallCheck    = "check"
	upcallVRRPExit = "vrrp-exit"
)

// upcallTimeout bounds an upcall whose caller set no deadline, and the serving
// process's answer.
const upcallTimeout = 2 * time.Second

// ErrHelperStopped is what a vrrp-exit upcall without an error reports: the helper was
// told to stop (SIGTERM, SIGINT), VRRP has released its VIPs, and the serving process
// should stop too.
var ErrHelperStopped = errors.New("the privileged helper was stopped by a signal")

// parseUpcall decodes one upcall line from the helper and checks its shape.
func parseUpcall(line []byte) (upcall, error) {
	var u upcall
	if err := json.Unmarshal(line, &u); err != nil {
		return upcall{}, fmt.Errorf("bad upcall: %w", err)
	}
	if u.ID == 0 {
		return u, errors.New("bad upcall: no id")
	}
	switch u.Op {
	case upcallCheck:
		c := u.Check
		switch {
		case c == nil:
			return u, errors.New("bad upcall: check without a tracker")
		case c.Kind != "frontend" && c.Kind != "backend":
			return u, fmt.Errorf("bad upcall: unknown tracker kind %q", c.Kind)
		case c.Name == "":
			return u, errors.New("bad upcall: tracker without a name")
		case c.MinUp < 0 || c.Percent && c.MinUp > 100:
			return u, fmt.Errorf("bad upcall: tracker minimum %d out of range", c.MinUp)
		}
	case upcallVRRPExit:
		if u.Check != nil {
			return u, errors.New("bad upcall: vrrp-exit carries a tracker")
		}
	default:
		return u, fmt.Errorf("bad upcall: unknown op %q", u.Op)
	}
	return u, nil
}

// ServeUpcalls is the serving process's side of the upcall socket: it answers the
// helper's tracker checks with check and reports a vrrp-exit to exited (the error,
// or ErrHelperStopped), until conn closes.
func ServeUpcalls(conn net.Conn, check func(context.Context, config.InProcessCheck) error, exited func(error)) error {
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil // the helper went away
		}
		u, err := parseUpcall(line)
		ans := upcallAnswer{ID: u.ID}
		switch {
		case err != nil:
			ans.Err = err.Error()
		case u.Op == upcallCheck:
			ctx, cancel := context.WithTimeout(context.Background(), upcallTimeout)
			if err := check(ctx, *u.Check); err != nil {
				ans.Err = err.Error()
			}
			cancel()
		case u.Op == upcallVRRPExit:
			if u.Err == "" {
				exited(ErrHelperStopped)
			} else {
				exited(errors.New(u.Err))
			}
		}
		out, _ := json.Marshal(ans)
		conn.SetWriteDeadline(time.Now().Add(upcallTimeout))
		if _, err := conn.Write(append(out, '\n')); err != nil {
			return fmt.Errorf("privsep upcalls: writing answer: %w", err)
		}
	}
}

// Upcalls is the helper's side of the upcall socket. Its methods are safe for
// concurrent use; each is bounded in time.
type Upcalls struct {
	sem     chan struct{} // one upcall on the wire at a time
	conn    net.Conn
	r       *bufio.Reader
	partial []byte // a line cut by a timeout, completed by the next read
	next    uint64
}

// NewUpcalls makes upcalls over conn.
func NewUpcalls(conn net.Conn) *Upcalls {
	return &Upcalls{sem: make(chan struct{}, 1), conn: conn, r: bufio.NewReader(conn)}
}

func (u *Upcalls) call(ctx context.Context, req upcall) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, upcallTimeout)
		defer cancel()
	}
	select {
	case u.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("serving process: %s: %w", req.Op, ctx.Err())
	}
	defer func() { <-u.sem }()
	u.next++
	req.ID = u.next
	dl, _ := ctx.Deadline()
	u.conn.SetDeadline(dl)
	defer u.conn.SetDeadline(time.Time{})
	out, _ := json.Marshal(req)
	if _, err := u.conn.Write(append(out, '\n')); err != nil {
		return fmt.Errorf("serving process: %s: %w", req.Op, err)
	}
	for {
		line, err := u.r.ReadBytes('\n')
		if err != nil {
			u.partial = append(u.partial, line...)
			return fmt.Errorf("serving process: %s: %w", req.Op, err)
		}
		if len(u.partial) > 0 {
			line = append(u.partial, line...)
			u.partial = nil
		}
		var ans upcallAnswer
		if err := json.Unmarshal(line, &ans); err != nil {
			return fmt.Errorf("serving process: bad answer: %w", err)
		}
		if ans.ID != req.ID {
			continue // the answer to an upcall whose caller gave up
		}
		if ans.Err != "" {
			return errors.New(ans.Err)
		}
		return nil
	}
}

// Check asks the serving process to evaluate an in-process tracker. Any failure (the
// tracker is not met, the serving process does not answer in time or is gone) is an
// error: the tracker counts as failed, as a failing vrrp_script.
func (u *Upcalls) Check(ctx context.Context, c config.InProcessCheck) error {
	return u.call(ctx, upcall{Op: upcallCheck, Check: &c})
}

// VRRPExited tells the serving process that VRRP stopped: err, or nil when the helper
// was told to stop by a signal. Bounded to upcallTimeout.
func (u *Upcalls) VRRPExited(err error) error {
	req := upcall{Op: upcallVRRPExit}
	if err != nil {
		req.Err = err.Error()
		if req.Err == "" {
			req.Err = "VRRP stopped"
		}
	}
	return u.call(context.Background(), req)
}
