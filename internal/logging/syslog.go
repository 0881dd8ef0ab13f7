package logging

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Facilities in syslog's numbering (RFC 5424 §6.2.1), as HAProxy names them.
var facilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"auth2", "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4",
	"local5", "local6", "local7"}

// Severity levels, most severe first (RFC 5424 §6.2.1).
var levels = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// Severities used by tandem.
const (
	LevelEmerg   = 0
	LevelAlert   = 1
	LevelCrit    = 2
	LevelErr     = 3
	LevelWarning = 4
	LevelNotice  = 5
	LevelInfo    = 6
	LevelDebug   = 7
)

// FacilityCode returns the syslog number of a facility name.
func FacilityCode(name string) (int, error) {
	if i := slices.Index(facilities, name); i >= 0 {
		return i, nil
	}
	return 0, fmt.Errorf("unknown syslog facility %q", name)
}

// LevelCode returns the severity number of a level name.
func LevelCode(name string) (int, error) {
	if i := slices.Index(levels, name); i >= 0 {
		return i, nil
	}
	return 0, fmt.Errorf("unknown syslog level %q", name)
}

// Framing is how a message is wrapped for a target (`log ... format F`).
type Framing uint8

const (
	FrameLocal   Framing = iota // rfc3164 without the host name: HAProxy's default
	FrameRFC3164                // with the host name
	FrameRFC5424
	FramePriority // <PRI>msg
	FrameShort    // <LEVEL>msg
	FrameTimed    // <LEVEL>ISO-DATE msg
	FrameISO      // ISO-DATE msg
	FrameRaw      // msg
)

// ParseFraming maps a `format` argument to a Framing; "" is the default.
//
// HAProxy 2.6 writes "rfc3164" lines without a host name unless log-send-hostname
// is set, which is what "local" documents; tandem does the same for both names.
func ParseFraming(s string) (Framing, error) {
	switch s {
	case "", "local", "rfc3164":
		return FrameLocal, nil
	case "rfc5424":
		return FrameRFC5424, nil
	case "priority":
		return FramePriority, nil
	case "short":
		return FrameShort, nil
	case "timed":
		return FrameTimed, nil
	case "iso":
		return FrameISO, nil
	case "raw":
		return FrameRaw, nil
	}
	return 0, fmt.Errorf("unknown log format %q", s)
}

// header identifies the sender in framed lines.
type header struct {
	tag      string // program name (HAProxy: log-tag, default the program's name)
	hostname string // "" : omitted (rfc3164) or "-" (rfc5424)
	pid      int
}

// appendFramed writes the framed message: header, msg (cut so that the whole line
// holds in maxLen bytes including the final newline), "\n".
func appendFramed(dst []byte, fr Framing, h *header, facility, level int, now time.Time, msg []byte, maxLen int) []byte {
	start := len(dst)
	pri := facility*8 + level
	switch fr {
	case FrameLocal, FrameRFC3164:
		dst = appendPri(dst, pri)
		dst = appendStamp3164(dst, now)
		dst = append(dst, ' ')
		if h.hostname != "" {
			dst = append(dst, h.hostname...)
			dst = append(dst, ' ')
		}
		dst = append(dst, h.tag...)
		dst = append(dst, '[')
		dst = strconv.AppendInt(dst, int64(h.pid), 10)
		dst = append(dst, "]: "...)
	case FrameRFC5424:
		dst = appendPri(dst, pri)
		dst = append(dst, "1 "...)
		dst = appendISO(dst, now)
		dst = append(dst, ' ')
		if h.hostname == "" {
			dst = append(dst, '-')
		} else {
			dst = append(dst, h.hostname...)
		}
		dst = append(dst, ' ')
		dst = append(dst, h.tag...)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, int64(h.pid), 10)
		dst = append(dst, " - - "...)
	case FramePriority:
		dst = appendPri(dst, pri)
	case FrameShort:
		dst = appendPri(dst, level)
	case FrameTimed:
		dst = appendPri(dst, level)
		dst = appendISO(dst, now)
		dst = append(dst, ' ')
	case FrameISO:
		dst = appendISO(dst, now)
		dst = append(dst, ' ')
	}
	if maxLen > 0 {
		room := maxLen - 1 - (len(dst) - start)
		if room < 0 {
			room = 0
		}
		if len(msg) > room {
			msg = msg[:room]
		}
	}
	dst = append(dst, msg...)
	return append(dst, '\n')
}

func appendPri(dst []byte, pri int) []byte {
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(pri), 10)
	return append(dst, '>')
}

// appendStamp3164 writes "Jan  2 15:04:05" (RFC 3164 §4.1.2).
func appendStamp3164(dst []byte, t time.Time) []byte {
	_, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = append(dst, months[mo-1]...)
	dst = append(dst, ' ')
	if d < 10 {
		dst = append(dst, ' ')
	}
	dst = strconv.AppendInt(dst, int64(d), 10)
	dst = append(dst, ' ')
	dst = appendPad(dst, int64(h), 2)
	dst = append(dst, ':')
	dst = appendPad(dst, int64(mi), 2)
	dst = append(dst, ':')
	return appendPad(dst, int64(s), 2)
}

// appendISO writes "2006-01-02T15:04:05.000000+07:00" (RFC 5424 §6.2.3).
func appendISO(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = appendPad(dst, int64(y), 4)
	dst = append(dst, '-')
	dst = appendPad(dst, int64(mo), 2)
	dst = append(dst, '-')
	dst = appendPad(dst, int64(d), 2)
	dst = append(dst, 'T')
	dst = appendPad(dst, int64(h), 2)
	dst = append(dst, ':')
	dst = appendPad(dst, int64(mi), 2)
	dst = append(dst, ':')
	dst = appendPad(dst, int64(s), 2)
	dst = append(dst, '.')
	dst = appendPad(dst, int64(t.Nanosecond()/1000), 6)
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	dst = append(dst, sign)
	dst = appendPad(dst, int64(off/3600), 2)
	dst = append(dst, ':')
	return appendPad(dst, int64(off%3600/60), 2)
}
