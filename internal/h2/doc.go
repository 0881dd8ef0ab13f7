// Package h2 serves HTTP/2 (RFC 9113) on the client side of a frontend and hands each
// stream to the HTTP/1 request engine (internal/httpproxy) as an exchange.
//
// The framing comes from golang.org/x/net/http2's Framer and HPACK from its hpack
// package; the connection's state machine, its streams, flow control (connection and
// stream windows), the concurrency limit, SETTINGS, PING, GOAWAY and RST_STREAM are
// this package's. PRIORITY is read and ignored, as HAProxy 2.6 does.
//
// # The seam: a stream adapter
//
// tandem has one request engine, written against HTTP/1 bytes: rules, use_backend,
// cookies, retries, logs and counters. An HTTP/2 stream reaches it through a stream
// adapter, Stream, a net.Conn for one exchange:
//
//   - The stream's request (HEADERS, DATA, trailers) is validated as RFC 9113 §8 asks
//     (pseudo-headers, connection-specific headers, upper-case names, CR/LF/NUL,
//     content-length against DATA, TE) — a malformed request is a stream error and is
//     never forwarded — then written as HTTP/1.1 bytes that Read returns: the request
//     line in origin form, Host from :authority, cookie crumbs joined with "; ", a body
//     without content-length sent chunked, trailers as chunked trailers.
//   - What the engine writes is an HTTP/1.1 response; Write translates it into
//     HEADERS (names lower-cased, hop-by-hop headers removed), DATA (chunked decoded,
//     flow-controlled) and trailing HEADERS for trailers.
//   - After the response, Read returns io.EOF: the engine ends the exchange and closes
//     the adapter, which ends the stream.
//
// The engine sees a connection per stream: Serve passes each Stream to the serve
// function it is given (httpproxy's Handler.Serve). The log line shows the request as
// HAProxy 2.6 logs an HTTP/2 request ("GET https://host/path HTTP/2.0"): the adapter
// offers it through LogRequestLine.
//
// When the engine moves onto tandem's reactor (issue 15), this adapter is the part to
// keep or replace: the translation functions (request.go, response.go) are pure and
// work on byte slices, so an engine that takes exchanges directly can call them without
// a net.Conn in between; the connection code (conn.go) does the framing and flow control
// and is independent of how the exchange is served.
package h2
