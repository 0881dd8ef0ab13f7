package ha

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"

	"tandem/internal/config"
)

// Command is a script to run: a vrrp_script check or a notify script, split
// into words, with the user (and group) keepalived would run it as.
type Command struct {
	Argv        []string
	User, Group string // "" runs it as tandem's own user
}

// defaultScriptUser is who scripts run as when neither the vrrp_script's user
// nor global_defs script_user says: keepalived_script if it exists, as
// keepalived does, else tandem's own user.
func defaultScriptUser(g config.VRRPGlobal) (string, string) {
	if g.ScriptUser != "" {
		return g.ScriptUser, g.ScriptGroup
	}
	if _, err := user.Lookup("keepalived_script"); err == nil {
		return "keepalived_script", ""
	}
	return "", ""
}

// scriptCommand is how a vrrp_script runs.
func scriptCommand(g config.VRRPGlobal, s *config.VRRPScript) Command {
	u, grp := s.User, s.Group
	if u == "" {
		u, grp = defaultScriptUser(g)
	}
	return Command{Argv: strings.Fields(s.Script), User: u, Group: grp}
}

// checkScripts resolves the users scripts run as and, with
// enable_script_security, refuses scripts run as root that a non-root user could
// change (the file or a directory above it not owned by root, or writable by
// group or others), as keepalived does.
func checkScripts(cfg *config.VRRP) error {
	var errs config.ErrorList
	check := func(pos config.Pos, what string, c Command) {
		if len(c.Argv) == 0 {
			return
		}
		if c.User != "" {
			if _, err := lookupCredential(c.User, c.Group); err != nil {
				errs.Add(pos, "%s: %v", what, err)
				return
			}
		}
		if !cfg.Global.EnableScriptSecurity || (c.User != "" && c.User != "root") || os.Geteuid() != 0 && c.User == "" {
			return
		}
		if err := secureScript(c.Argv[0]); err != nil {
			errs.Add(pos, "%s: enable_script_security: %v", what, err)
		}
	}
	for _, s := range cfg.Scripts {
		if s.InProcess == nil {
			check(s.Pos, fmt.Sprintf("vrrp_script %q", s.Name), scriptCommand(cfg.Global, s))
		}
	}
	u, g := defaultScriptUser(cfg.Global)
	for _, in := range cfg.Instances {
		for _, sc := range []string{in.Notify.Master, in.Notify.Backup, in.Notify.Fault, in.Notify.Stop, in.Notify.Any, in.Notify.MasterRxLowerPri} {
			check(in.Pos, fmt.Sprintf("vrrp_instance %q: notify script", in.Name), Command{Argv: strings.Fields(sc), User: u, Group: g})
		}
	}
	for _, sg := range cfg.SyncGroups {
		for _, sc := range []string{sg.Notify.Master, sg.Notify.Backup, sg.Notify.Fault, sg.Notify.Stop, sg.Notify.Any} {
			check(sg.Pos, fmt.Sprintf("vrrp_sync_group %q: notify script", sg.Name), Command{Argv: strings.Fields(sc), User: u, Group: g})
		}
	}
	return errs.Err()
}

func secureScript(name string) error {
	path, err := exec.LookPath(name)
	if err != nil {
		return fmt.Errorf("script %s: %w", name, err)
	}
	path, err = filepath.Abs(path)
	if err != nil {
		return err
	}
	for p := path; ; p = filepath.Dir(p) {
		if err := ownedByRootOnly(p); err != nil {
			return fmt.Errorf("script %s: %w", name, err)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func execCommand(ctx context.Context, c Command) error {
	if len(c.Argv) == 0 {
		return fmt.Errorf("empty command")
	}
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	if c.User != "" {
		if err := runAs(cmd, c.User, c.Group); err != nil {
			return err
		}
	}
	return cmd.Run()
}

// disableMissing is keepalived's "Disabling track script NAME since not found/accessible":
// a vrrp_script whose command cannot be found is not run, and the instances and sync
// groups tracking it ignore it (a warning names it). cfg is not changed: the result is
// a copy where needed.
func disableMissing(cfg *config.VRRP, lookPath func(string) error, log *slog.Logger) *config.VRRP {
	gone := map[string]bool{}
	for _, s := range cfg.Scripts {
		argv := strings.Fields(s.Script)
		if s.InProcess != nil || len(argv) == 0 {
			continue
		}
		if err := lookPath(argv[0]); err != nil {
			gone[s.Name] = true
			log.Warn("vrrp_script not found or not executable: disabled, and instances tracking it ignore it, as keepalived does",
				"script", s.Name, "pos", s.Pos.String(), "command", argv[0], "err", err)
		}
	}
	if len(gone) == 0 {
		return cfg
	}
	out := *cfg
	out.Scripts = nil
	for _, s := range cfg.Scripts {
		if !gone[s.Name] {
			out.Scripts = append(out.Scripts, s)
		}
	}
	keep := func(refs []config.TrackRef) []config.TrackRef {
		var kept []config.TrackRef
		for _, r := range refs {
			if !gone[r.Name] {
				kept = append(kept, r)
			}
		}
		return kept
	}
	out.Instances = make([]*config.VRRPInstance, len(cfg.Instances))
	for i, in := range cfg.Instances {
		c := *in
		c.TrackScripts = keep(in.TrackScripts)
		out.Instances[i] = &c
	}
	out.SyncGroups = make([]*config.VRRPSyncGroup, len(cfg.SyncGroups))
	for i, g := range cfg.SyncGroups {
		c := *g
		c.TrackScripts = keep(g.TrackScripts)
		out.SyncGroups[i] = &c
	}
	return &out
}
