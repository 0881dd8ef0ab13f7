package tlsconf

import (
	"crypto/tls"

	"tandem/internal/sample"
)

// stater is a connection that knows its TLS state (*tls.Conn).
type stater interface {
	ConnectionState() tls.ConnectionState
}

// FactsOf returns what HAProxy's TLS fetches (ssl_fc…, ssl_c_…) read of a client
// connection (a *tls.Conn, or an HTTP/2 stream, which reports its connection's state),
// or nil for a plain connection. A TLS connection must have completed its
// handshake. It allocates: call it once per connection.
func FactsOf(c any) *sample.TLSFacts {
	s, ok := c.(stater)
	if !ok {
		return nil
	}
	cs := s.ConnectionState()
	if !cs.HandshakeComplete { // an HTTP/2 stream of a plain (h2c) connection
		return nil
	}
	f := &sample.TLSFacts{Protocol: []byte(VersionName(cs.Version)), Cipher: []byte(CipherName(cs.CipherSuite)),
		Resumed: cs.DidResume}
	if cs.ServerName != "" {
		f.SNI = []byte(cs.ServerName)
	}
	if cs.NegotiatedProtocol != "" {
		f.ALPN = []byte(cs.NegotiatedProtocol)
	}
	if len(cs.PeerCertificates) > 0 {
		crt := cs.PeerCertificates[0]
		f.CertUsed = true
		f.CertSubject, _ = sample.ParseDN(crt.RawSubject)
		f.CertIssuer, _ = sample.ParseDN(crt.RawIssuer)
		f.CertSerial = crt.SerialNumber.Bytes()
		f.SubjectLine, _ = sample.AppendDN(nil, f.CertSubject, "", 0, sample.DNOneline)
		f.IssuerLine, _ = sample.AppendDN(nil, f.CertIssuer, "", 0, sample.DNOneline)
	}
	return f
}

// DN writes a distinguished name as HAProxy's ssl_c_s_dn and ssl_c_i_dn do:
// "/C=FR/O=Org/CN=name".
func DN(raw []byte) string {
	b, _ := sample.FormatDN(nil, raw, "", 0, sample.DNOneline)
	return string(b)
}
