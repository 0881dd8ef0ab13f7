package runtimeapi

import (
	"bufio"
	"bytes"
	"strings"

	"tandem/internal/tlsconf"
)

// sslCommands are the certificate commands (issue 11): the certificates of the running
// binds, and one transaction that replaces a certificate file's contents for the
// handshakes that follow.
var sslCommands = []command{
	{[]string{"show", "ssl", "cert"}, "[<certfile>]", "display the SSL certificates used in memory, or the details of a file", LevelOperator, func(s *session, out *bytes.Buffer, args []string) {
		if reg := s.src.Certs; reg != nil {
			out.WriteString(reg.Show(arg(args, 0)))
		} else {
			out.WriteString("# filename\n")
		}
	}},
	{[]string{"set", "ssl", "cert"}, "<certfile> <payload>", "replace a certificate file", LevelAdmin, func(s *session, out *bytes.Buffer, args []string) {
		if reg := s.src.Certs; reg != nil {
			out.WriteString(reg.Set(arg(args, 0), s.payload))
			return
		}
		out.WriteString("Can't replace a certificate which is not referenced by the configuration!\nCan't update " + arg(args, 0) + "!\n")
	}},
	{[]string{"commit", "ssl", "cert"}, "<certfile>", "commit a certificate file", LevelAdmin, func(s *session, out *bytes.Buffer, args []string) {
		if reg := s.src.Certs; reg != nil {
			out.WriteString(reg.Commit(arg(args, 0)))
			return
		}
		out.WriteString("No ongoing transaction! !\nCan't commit " + arg(args, 0) + "!\n")
	}},
	{[]string{"abort", "ssl", "cert"}, "<certfile>", "abort a transaction for a certificate file", LevelAdmin, func(s *session, out *bytes.Buffer, args []string) {
		if reg := s.src.Certs; reg != nil {
			out.WriteString(reg.Abort(arg(args, 0)))
			return
		}
		out.WriteString("No ongoing transaction!\n")
	}},
}

// crtListCommands edit the certificate stores and crt-lists of the running binds.
var crtListCommands = []command{
	{[]string{"new", "ssl", "cert"}, "<certfile>", "create a new certificate file to be used in a crt-list or a directory", LevelAdmin, func(s *session, out *bytes.Buffer, args []string) {
		out.WriteString(certs(s).NewCert(arg(args, 0)))
	}},
	{[]string{"del", "ssl", "cert"}, "<certfile>", "delete an unused certificate file", LevelAdmin, func(s *session, out *bytes.Buffer, args []string) {
		out.WriteString(certs(s).DelCert(arg(args, 0)))
	}},
	{[]string{"show", "ssl", "crt-list"}, "[-n] [<list>]", "show the list of crt-lists or the content of a crt-list file", LevelOperator, func(s *session, out *bytes.Buffer, args []string) {
		out.WriteString(certs(s).ShowCrtList(args))
	}},
	{[]string{"add", "ssl", "crt-list"}, "<list> <certfile> [options]", "add a line <certfile> to a crt-list <list>", LevelAdmin, func(s *session, out *bytes.Buffer, args []string) {
		out.WriteString(certs(s).AddCrtList(args, s.payload))
	}},
	{[]string{"del", "ssl", "crt-list"}, "<list> <cert[:line]>", "delete a line <certfile> from a crt-list <list>", LevelAdmin, func(s *session, out *bytes.Buffer, args []string) {
		out.WriteString(certs(s).DelCrtList(args))
	}},
}

// certs is the source's registry, or an empty one (no TLS bind).
func certs(s *session) *tlsconf.Registry {
	if s.src.Certs != nil {
		return s.src.Certs
	}
	return &tlsconf.Registry{}
}

// arg is the i-th word of a command's arguments, "" past the last (as HAProxy's empty
// args).
func arg(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}

// cutPayload reports whether a command line announces a payload ("... <<"), and
// returns the line without it.
func cutPayload(line string) (string, bool) {
	t := strings.TrimRight(line, " \t")
	if !strings.HasSuffix(t, "<<") {
		return line, false
	}
	return strings.TrimSuffix(t, "<<"), true
}

// readPayload reads the lines of a payload up to an empty line (or the end), bounded
// by maxLine.
func readPayload(r *bufio.Reader) []byte {
	var b []byte
	for len(b) <= maxLine {
		l, err := readLine(r)
		if l == "" {
			break
		}
		b = append(append(b, l...), '\n')
		if err != nil {
			break
		}
	}
	return b
}
