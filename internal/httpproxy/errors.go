package httpproxy

import (
	"strconv"

	"tandem/internal/config"
)

// Error responses as HAProxy sends them: a short HTML body, no caching, and the
// connection closed after.
var errorPages = map[int][]byte{
	400: page(400, "Bad request", "Your browser sent an invalid request."),
	408: page(408, "Request Time-out", "Your browser didn't send a complete request in time."),
	500: page(500, "Internal Server Error", "An internal server error occurred."),
	502: page(502, "Bad Gateway", "The server returned an invalid or incomplete response."),
	503: page(503, "Service Unavailable", "No server is available to handle this request."),
	504: page(504, "Gateway Time-out", "The server didn't respond in time."),
}

func page(code int, reason, text string) []byte {
	c := strconv.Itoa(code)
	body := "<html><body><h1>" + c + " " + reason + "</h1>\n" + text + "\n</body></html>\n"
	return []byte("HTTP/1.1 " + c + " " + reason + "\r\n" +
		"content-length: " + strconv.Itoa(len(body)) + "\r\n" +
		"cache-control: no-cache\r\n" +
		"content-type: text/html\r\n" +
		"connection: close\r\n\r\n" + body)
}

// errorResponse returns what to send for code: the backend's errorfile, else the
// frontend's, else the built-in page.
func errorResponse(code int, fe *config.Frontend, be *config.Backend) []byte {
	if be != nil {
		if b, ok := be.ErrorFiles[code]; ok {
			return b
		}
	}
	if fe != nil {
		if b, ok := fe.ErrorFiles[code]; ok {
			return b
		}
	}
	return errorPages[code]
}
