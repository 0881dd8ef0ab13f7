package keepalived

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem/internal/config"
)

// TestCorpusLoadsWhatKeepalivedLoads reads the team's corpus of public keepalived.conf
// files (../shared/corpus/keepalived beside the repository, never copied into it) and
// holds tandem to keepalived 2.2's verdict, taken at test time by running
// `keepalived -t -f FILE` in a network namespace of its own where the interfaces the
// file names exist:
//
//   - a file keepalived refuses, tandem refuses too;
//   - a file keepalived loads, tandem loads, or refuses with a message that says why:
//     either a feature tandem does not carry out ("… is not supported by tandem") or a
//     line keepalived itself reported as wrong (an unknown keyword it skipped, a value
//     it replaced by its default) — tandem never runs a repaired config.
//
// No file is treated specially: every rule above applies to every file.
func TestCorpusLoadsWhatKeepalivedLoads(t *testing.T) {
	dir := corpusDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.conf"))
	if err != nil || len(files) == 0 {
		failOrSkip(t, fmt.Sprintf("no *.conf in %s (%v)", dir, err))
	}
	ka := keepalivedPath(t)

	var mu sync.Mutex
	var kaLoads, tandemLoads, explained []string
	sem := make(chan struct{}, 4) // keepalived -t runs at once
	t.Run("files", func(t *testing.T) {
		for _, f := range files {
			name := filepath.Base(f)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				sem <- struct{}{}
				kv := keepalivedVerdict(t, ka, f)
				<-sem
				_, perr := ParseFile(f)
				var errs config.ErrorList
				if perr != nil && !errors.As(perr, &errs) {
					t.Fatalf("ParseFile: %v is not an ErrorList", perr)
				}
				mu.Lock()
				if kv.loads {
					kaLoads = append(kaLoads, name)
				}
				if perr == nil {
					tandemLoads = append(tandemLoads, name)
				}
				mu.Unlock()
				switch {
				case !kv.loads && perr == nil:
					t.Errorf("keepalived refuses this file (exit %d) but tandem loads it:\n%s", kv.exit, kv.out)
				case kv.loads && perr != nil:
					var unexplained []string
					for _, e := range errs {
						if strings.Contains(e.Msg, "is not supported by tandem") || kv.flagged[e.Pos.Line] && e.Pos.File == f {
							continue
						}
						unexplained = append(unexplained, e.Error())
					}
					if len(unexplained) > 0 {
						t.Errorf("keepalived loads this file (exit %d) but tandem refuses it at lines keepalived found nothing wrong with, for no unsupported feature:\n%s\nkeepalived said:\n%s",
							kv.exit, strings.Join(unexplained, "\n"), kv.out)
						return
					}
					mu.Lock()
					explained = append(explained, fmt.Sprintf("%s: %s", name, errs[0].Error()))
					mu.Unlock()
				}
			})
		}
	})
	sort.Strings(kaLoads)
	sort.Strings(tandemLoads)
	sort.Strings(explained)
	t.Logf("%d files: keepalived loads %d, tandem loads %d", len(files), len(kaLoads), len(tandemLoads))
	for _, e := range explained {
		t.Logf("refused with a reason: %s", e)
	}
}

// corpusDir is <repo>/../shared/corpus/keepalived.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "..", "shared", "corpus", "keepalived"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		failOrSkip(t, fmt.Sprintf("the keepalived corpus is not there: %v", err))
	}
	return dir
}

// failOrSkip skips, or fails under CI=true where everything the test needs must be there.
func failOrSkip(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

func keepalivedPath(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		failOrSkip(t, "needs root: keepalived -t runs in a network namespace of its own (unshare --net)")
	}
	for _, p := range []string{"/usr/sbin/keepalived", "/sbin/keepalived"} {
		if _, err := os.Stat(p); err == nil {
			if _, err := exec.LookPath("unshare"); err != nil {
				failOrSkip(t, "unshare is not installed")
			}
			return p
		}
	}
	p, err := exec.LookPath("keepalived")
	if err != nil {
		failOrSkip(t, "keepalived is not installed (apt-get install keepalived)")
	}
	return p
}

// kaVerdict is what `keepalived -t` made of a file.
type kaVerdict struct {
	loads   bool         // keepalived would run with it (exit 0, 5: repaired, 6: scripts without script security)
	exit    int          // its exit status
	flagged map[int]bool // lines its messages report as wrong
	out     string
}

var (
	missingIf = regexp.MustCompile(`interface (\S+) (?:for .*?)?doesn't exist`)
	lineMsg   = regexp.MustCompile(`\((?:([^()]+): )?Line (\d+)\) (.*)`)
)

// benign are keepalived messages about a line that do not mean it was discarded or
// replaced: keepalived runs it as written.
var benign = []string{"Truncating auth_pass", "is deprecated", "Please use", "doesn't exist"}

// keepalivedVerdict runs keepalived -t on file in a new network namespace (gone when
// the command ends), creating as bridges the interfaces keepalived says are missing and
// asking again, at most four times.
func keepalivedVerdict(t *testing.T, ka, file string) kaVerdict {
	t.Helper()
	var ifs []string
	for range 4 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		script := `for n in "$@"; do ip link add "$n" type bridge 2>/dev/null; ip link set "$n" up 2>/dev/null; done; exec "$KA" -t -f "$KA_FILE"`
		cmd := exec.CommandContext(ctx, "unshare", append([]string{"--net", "sh", "-c", script, "sh"}, ifs...)...)
		cmd.Env = append(os.Environ(), "KA="+ka, "KA_FILE="+file)
		out, err := cmd.CombinedOutput()
		cancel()
		exit := 0
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			exit = ee.ExitCode()
		case err != nil:
			t.Fatalf("keepalived -t -f %s: %v\n%s", file, err, out)
		}
		var more []string
		for _, m := range missingIf.FindAllStringSubmatch(string(out), -1) {
			if !contains(ifs, m[1]) && !contains(more, m[1]) {
				more = append(more, m[1])
			}
		}
		if len(more) > 0 {
			ifs = append(ifs, more...)
			continue
		}
		v := kaVerdict{exit: exit, out: string(out), flagged: map[int]bool{}}
		v.loads = exit == 0 || exit == 5 || exit == 6
		for _, m := range lineMsg.FindAllStringSubmatch(string(out), -1) {
			if m[1] != "" && filepath.Base(m[1]) != filepath.Base(file) {
				continue
			}
			if isBenign(m[3]) {
				continue
			}
			n, _ := strconv.Atoi(m[2])
			v.flagged[n] = true
		}
		return v
	}
	t.Fatalf("keepalived -t -f %s still misses interfaces after creating %v", file, ifs)
	return kaVerdict{}
}

func isBenign(msg string) bool {
	for _, b := range benign {
		if strings.Contains(msg, b) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
