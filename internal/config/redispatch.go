package config

// RedispatchOn reports whether retry n (1-based) of a request goes to another server:
// never without option redispatch; `option redispatch N` redispatches every Nth retry
// when N > 0 and on the |N|th retry before the last when N < 0; the default, -1, is the
// last retry. Both data paths ask it.
func (b *Backend) RedispatchOn(n int) bool {
	if !b.Redispatch {
		return false
	}
	every := b.RedispatchEvery
	if every == 0 {
		every = -1
	}
	if every > 0 {
		return n%every == 0
	}
	return n == b.Retries+every+1
}
