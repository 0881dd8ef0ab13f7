package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
)

// Facts are what HAProxy's TLS fetches read of a client connection (ssl_fc,
// ssl_fc_sni, ssl_fc_has_sni, ssl_fc_alpn, ssl_fc_protocol, ssl_fc_cipher,
// ssl_fc_is_resumed, ssl_c_used, ssl_c_verify, ssl_c_s_dn, ssl_c_i_dn, ssl_c_serial):
// the sample engine reads them from the connection with FactsOf.
type Facts struct {
	TLS        bool              // ssl_fc
	SNI        string            // ssl_fc_sni, as sent (case kept, as HAProxy); "" when none
	ALPN       string            // ssl_fc_alpn ("" when none was agreed)
	Protocol   string            // ssl_fc_protocol: "TLSv1.2", "TLSv1.3"
	Cipher     string            // ssl_fc_cipher, OpenSSL's name
	Resumed    bool              // ssl_fc_is_resumed
	ClientCert *x509.Certificate // ssl_c_used when not nil; verified (a failed verification ends the handshake: ssl_c_verify is 0)
}

// stater is a connection that knows its TLS state (*tls.Conn).
type stater interface {
	ConnectionState() tls.ConnectionState
}

// FactsOf returns the TLS facts of a client connection; a plain connection has TLS
// false. A TLS connection must have completed its handshake.
func FactsOf(c any) Facts {
	s, ok := c.(stater)
	if !ok {
		return Facts{}
	}
	cs := s.ConnectionState()
	f := Facts{TLS: true, SNI: cs.ServerName, ALPN: cs.NegotiatedProtocol, Protocol: VersionName(cs.Version),
		Cipher: CipherName(cs.CipherSuite), Resumed: cs.DidResume}
	if len(cs.PeerCertificates) > 0 {
		f.ClientCert = cs.PeerCertificates[0]
	}
	return f
}

// DN writes a distinguished name as HAProxy's ssl_c_s_dn and ssl_c_i_dn do:
// "/C=FR/O=Org/CN=name".
func DN(raw []byte) string { return oneline(raw) }
