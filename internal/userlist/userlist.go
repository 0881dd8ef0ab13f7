// Package userlist is HAProxy's userlist section (configuration.txt §3.4): users
// with a crypt(3) hash or a clear password, and groups, checked by `http-request
// auth` conditions through the http_auth and http_auth_group fetches.
//
// Hashes are verified here, in Go: SHA-crypt ($5$ SHA-256 and $6$ SHA-512, written
// from Ulrich Drepper's specification, what `mkpasswd -m sha-512|sha-256` writes).
// Other formats HAProxy takes through the C library (yescrypt $y$, bcrypt $2b$,
// MD5 $1$, DES) are refused when the configuration is read, with a message saying
// how to make a SHA-512 hash. Verification is costly by design (5,000 rounds by
// default), so a small cache remembers recently verified (hash, password) pairs by a
// keyed digest, never the password itself.
//
// The package is pure: no I/O, no syscall.
package userlist

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// List is one userlist section.
type List struct {
	Name   string
	users  map[string]*user
	groups map[string][]string // group → users named on its group line
	order  []string            // groups in the order written

	cache *cache
}

type user struct {
	secret string
	plain  bool
	hash   *shaHash // parsed once
	groups []string // from the user line and group lines
}

// New returns an empty userlist.
func New(name string) *List {
	return &List{Name: name, users: map[string]*user{}, groups: map[string][]string{}, cache: newCache()}
}

// AddGroup adds `group NAME [users U,…]`.
func (l *List) AddGroup(name string, users []string) error {
	if _, dup := l.groups[name]; dup {
		return fmt.Errorf("group %q is defined twice", name)
	}
	l.groups[name] = users
	l.order = append(l.order, name)
	return nil
}

// AddUser adds `user NAME password HASH | insecure-password PASS [groups G,…]`.
func (l *List) AddUser(name, secret string, plain bool, groups []string) error {
	if _, dup := l.users[name]; dup {
		return fmt.Errorf("user %q is defined twice", name)
	}
	u := &user{secret: secret, plain: plain, groups: groups}
	if !plain {
		h, err := parseHash(secret)
		if err != nil {
			return fmt.Errorf("user %q: %w", name, err)
		}
		u.hash = h
	}
	l.users[name] = u
	return nil
}

// Validate checks the cross references HAProxy checks once the section is read:
// groups a user names exist, users a group names exist.
func (l *List) Validate() error {
	names := make([]string, 0, len(l.users))
	for n := range l.users {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, g := range l.users[n].groups {
			if _, ok := l.groups[g]; !ok {
				return fmt.Errorf("no such group %q specified in user %q", g, n)
			}
		}
	}
	for _, g := range l.order {
		for _, n := range l.groups[g] {
			u := l.users[n]
			if u == nil {
				return fmt.Errorf("no such user %q specified in group %q", n, g)
			}
			u.groups = append(u.groups, g)
		}
	}
	return nil
}

// Check reports whether user and password are valid credentials of the list.
func (l *List) Check(name, pass []byte) bool {
	u := l.users[string(name)]
	if u == nil {
		return false
	}
	if u.plain {
		return subtle.ConstantTimeCompare([]byte(u.secret), pass) == 1
	}
	key := l.cache.key(u.secret, pass)
	if l.cache.has(key) {
		return true
	}
	if !u.hash.verify(pass) {
		return false
	}
	l.cache.add(key)
	return true
}

// cache remembers verified credentials by an HMAC of hash and password under a key
// made at start: a hit proves the pair was verified before without keeping the
// password. It holds at most cacheSize entries and is emptied when full.
type cache struct {
	mu   sync.Mutex
	seed [32]byte
	m    map[[32]byte]struct{}
}

const cacheSize = 1024

func newCache() *cache {
	c := &cache{m: map[[32]byte]struct{}{}}
	if _, err := rand.Read(c.seed[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return c
}

func (c *cache) key(hash string, pass []byte) [32]byte {
	m := hmac.New(sha256.New, c.seed[:])
	m.Write([]byte(hash))
	m.Write([]byte{0})
	m.Write(pass)
	var k [32]byte
	m.Sum(k[:0])
	return k
}

func (c *cache) has(k [32]byte) bool {
	c.mu.Lock()
	_, ok := c.m[k]
	c.mu.Unlock()
	return ok
}

func (c *cache) add(k [32]byte) {
	c.mu.Lock()
	if len(c.m) >= cacheSize {
		clear(c.m)
	}
	c.m[k] = struct{}{}
	c.mu.Unlock()
}

func hashKind(s string) string {
	switch {
	case strings.HasPrefix(s, "$y$"):
		return "yescrypt ($y$)"
	case strings.HasPrefix(s, "$gy$"):
		return "gost-yescrypt ($gy$)"
	case strings.HasPrefix(s, "$7$"):
		return "scrypt ($7$)"
	case strings.HasPrefix(s, "$2"):
		return "bcrypt ($2…$)"
	case strings.HasPrefix(s, "$1$"):
		return "MD5 ($1$)"
	case strings.HasPrefix(s, "$md5"):
		return "SunMD5"
	case strings.HasPrefix(s, "$"):
		return "this crypt(3) format"
	}
	return "DES crypt"
}

// Groups returns the groups user belongs to (after Validate).
func (l *List) Groups(name []byte) []string {
	if u := l.users[string(name)]; u != nil {
		return u.groups
	}
	return nil
}
