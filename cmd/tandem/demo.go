package main

import (
	_ "embed"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"tandem/internal/certgen"
	"tandem/internal/config"
	"tandem/internal/config/haproxy"
)

//go:embed demo.cfg
var demoConfig []byte

// runDemo starts two demo web servers and the load balancer over them, on loopback.
func runDemo(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "--ha" || args[0] == "-ha") {
		return runDemoHA(args[1:], stdout, stderr) // its own flags follow --ha
	}
	fs := flag.NewFlagSet("tandem demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bind := fs.String("bind", "127.0.0.1:8080", "address of the demo load balancer")
	httpsBind := fs.String("https-bind", "127.0.0.1:8443", "address of its HTTPS side")
	printCfg := fs.Bool("print-config", false, "print the embedded configuration and exit")
	haDemo := fs.Bool("ha", false, "(root) the seed architecture in network namespaces, two tandem nodes sharing a VIP, and a failover live; its own flags: tandem demo --ha -h")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *haDemo {
		return runDemoHA(fs.Args(), stdout, stderr)
	}
	if *printCfg {
		stdout.Write(demoConfig)
		return 0
	}
	var addrs [2]string
	for i, name := range []string{"web1", "web2"} {
		a, err := startDemoWeb(name)
		if err != nil {
			fmt.Fprintf(stderr, "tandem demo: cannot start demo web server %s: %v\n", name, err)
			return 1
		}
		addrs[i] = a
	}
	certDir, err := os.MkdirTemp("", "tandem-demo-")
	if err != nil {
		fmt.Fprintf(stderr, "tandem demo: %v\n", err)
		return 1
	}
	defer os.RemoveAll(certDir)
	certPath, err := demoCert(certDir)
	if err != nil {
		fmt.Fprintf(stderr, "tandem demo: cannot make a certificate: %v\n", err)
		return 1
	}
	vars := map[string]string{"DEMO_BIND": *bind, "DEMO_HTTPS_BIND": *httpsBind, "DEMO_CERT": certPath,
		"DEMO_WEB1": addrs[0], "DEMO_WEB2": addrs[1]}
	lookup := func(k string) (string, bool) {
		if v, ok := vars[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	}
	load := func() (*config.Config, error) {
		return haproxy.Parse("demo.cfg", demoConfig, haproxy.Options{LookupEnv: lookup})
	}
	if _, err := load(); err != nil {
		printErrors(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, `tandem demo
  web1 at http://%[2]s, web2 at http://%[3]s, the load balancer at http://%[1]s and https://%[4]s
  (configuration: tandem demo -print-config; the certificate is an ECDSA one made now: curl -k)

Try:
  for i in 1 2 3 4; do curl -s http://%[1]s/; echo; done       # round robin: web1, web2, web1, web2
  curl -si http://%[1]s/ | grep -i set-cookie                   # the SERVERUSED persistence cookie
  for i in 1 2 3; do curl -s -b SERVERUSED=web2 http://%[1]s/; echo; done   # sticks to web2
  curl -s -X POST http://%[2]s/stop                              # stop web1: requests retry on web2
  open http://%[1]s/monitor                                      # the stats page (;csv for CSV)
  curl -s http://%[1]s/metrics | grep haproxy_server_status       # Prometheus metrics
  curl -sk https://%[4]s/                                         # TLS terminated by tandem
  curl -si http://%[1]s/secure | grep -i location                 # redirected to HTTPS
  curl -skL http://%[1]s/secure                                   # followed: the server sees X-Forwarded-Proto
Stop with Ctrl-C.

`, *bind, addrs[0], addrs[1], *httpsBind)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return serve(runOpts{load: load, log: log})
}

// startDemoWeb serves {"message": "Hello from NAME"} on a free loopback port, like the
// seeds' FastAPI app, and returns its address. POST /stop closes it.
func startDemoWeb(name string) (string, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"message": "Hello from %s"}`, name)
	})
	mux.HandleFunc("GET /test", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"message": "This is a test page from %s"}`, name)
	})
	mux.HandleFunc("GET /secure", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"message": "Secure page from %s", "X-Forwarded-Proto": %q}`, name, r.Header.Get("X-Forwarded-Proto"))
	})
	mux.HandleFunc("GET /headers", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		r.Header.Write(&b)
		fmt.Fprintf(w, "%s sees:\n%s", name, b.String())
	})
	srv := &http.Server{Handler: mux}
	mux.HandleFunc("POST /stop", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s stopping\n", name)
		go srv.Close() // the listener and every open connection, as a dead server
	})
	go srv.Serve(ln)
	return ln.Addr().String(), nil
}

// demoCert makes the demo's ECDSA P-256 certificate for localhost and 127.0.0.1 and
// writes it with its key to dir, as HAProxy reads a crt file.
func demoCert(dir string) (string, error) {
	c, err := certgen.New(certgen.Spec{CN: "localhost", DNSNames: []string{"localhost"}, Key: certgen.ECDSA}, nil)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "demo.pem")
	return p, os.WriteFile(p, c.PEM(), 0o600)
}
