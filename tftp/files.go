package tftp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Reasons a request is refused (Stats.RefusedBy, Refusal.Reason).
const (
	ReasonWrite          = "write request"
	ReasonBadName        = "bad file name"
	ReasonTraversal      = "path traversal"
	ReasonNotFound       = "not found"
	ReasonUnknownDevice  = "unknown device"
	ReasonDisabled       = "device disabled"
	ReasonNoLease        = "no active lease"
	ReasonNotLeaseHolder = "not the lease holder"
	ReasonV6Unverified   = "IPv6 lease unknown"
	ReasonBusy           = "busy"
	ReasonBuildFailed    = "build failed"
)

// maxNameLen bounds a file name; a request packet holds at most about 500.
const maxNameLen = 255

// refusal is why a request gets an ERROR instead of a file.
type refusal struct {
	reason string
	detail string // for the log and the UI, not the requester
}

func (r *refusal) Error() string {
	if r.detail == "" {
		return r.reason
	}
	return r.reason + ": " + r.detail
}

// message is what the requester reads in the ERROR packet.
func (r *refusal) message() string {
	switch r.reason {
	case ReasonNotFound, ReasonUnknownDevice:
		return "file not found"
	case ReasonBusy:
		return "server busy, try again later"
	}
	return "access violation"
}

func refuse(reason, format string, args ...any) *refusal {
	return &refusal{reason: reason, detail: fmt.Sprintf(format, args...)}
}

// checkName refuses what no name may hold: nothing, too much, NUL or other
// control characters.
func checkName(name string) *refusal {
	switch {
	case name == "":
		return refuse(ReasonBadName, "empty name")
	case len(name) > maxNameLen:
		return refuse(ReasonBadName, "name longer than %d bytes", maxNameLen)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == 0x7f {
			return refuse(ReasonBadName, "control character 0x%02x at %d", c, i)
		}
	}
	return nil
}

// cleanName checks a name as a path under the static folder and returns it
// cleaned (path.Clean). Besides checkName's refusals it refuses backslashes,
// absolute paths (also drive letters) and any ".." element, before anything
// is looked up.
func cleanName(name string) (string, *refusal) {
	if r := checkName(name); r != nil {
		return "", r
	}
	if i := strings.IndexByte(name, '\\'); i >= 0 {
		return "", refuse(ReasonTraversal, "backslash at %d", i)
	}
	if name[0] == '/' {
		return "", refuse(ReasonTraversal, "absolute path")
	}
	if len(name) >= 2 && name[1] == ':' {
		return "", refuse(ReasonTraversal, "drive letter")
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return "", refuse(ReasonTraversal, `".." in the path`)
		}
	}
	clean := path.Clean(name)
	if !filepath.IsLocal(clean) || clean == "." {
		return "", refuse(ReasonTraversal, "not a local path")
	}
	return clean, nil
}

// file is what a transfer reads: a built config or an open static file.
type file struct {
	r     io.Reader
	size  int64
	kind  string // "cm", "mta", "walled" or "file"
	mac   string // of the device a config was built for
	close func() error
}

func (f *file) Close() error {
	if f.close != nil {
		return f.close()
	}
	return nil
}

// open finds what name stands for, as asked by from: a config name (as
// the DHCP server hands it out, matched exactly), else a file under the
// static folder.
func (s *Server) open(ctx context.Context, name string, from netip.Addr) (*file, error) {
	if r := checkName(name); r != nil {
		return nil, r
	}
	if s.build != nil {
		b, err := s.build.build(ctx, name, from)
		if err != nil {
			return nil, err
		}
		if b.data != nil {
			return &file{r: bytes.NewReader(b.data), size: int64(len(b.data)), kind: b.kind, mac: b.mac}, nil
		}
	}
	clean, r := cleanName(name)
	if r != nil {
		return nil, r
	}
	if s.root == nil {
		return nil, refuse(ReasonNotFound, "no such config and no static folder")
	}
	return s.openStatic(clean)
}

// openStatic opens a regular file under the root. os.Root refuses any path,
// symlinks included, that resolves outside the root; EvalSymlinks is only
// there to tell a traversal from a missing file in the refusal.
func (s *Server) openStatic(clean string) (*file, error) {
	f, err := s.root.Open(clean)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist) && !s.escapes(clean):
			return nil, refuse(ReasonNotFound, "%s", clean)
		case errors.Is(err, fs.ErrPermission):
			return nil, refuse(ReasonNotFound, "%s: permission denied", clean)
		}
		if s.escapes(clean) {
			return nil, refuse(ReasonTraversal, "%s resolves outside the root", clean)
		}
		return nil, refuse(ReasonNotFound, "%s: %v", clean, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", clean, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, refuse(ReasonNotFound, "%s is not a regular file", clean)
	}
	return &file{r: f, size: st.Size(), kind: "file", close: f.Close}, nil
}

// escapes reports whether clean, with its symlinks resolved, is outside
// the root (a dangling symlink that points outside counts).
func (s *Server) escapes(clean string) bool {
	root, err := filepath.EvalSymlinks(s.rootDir)
	if err != nil {
		return false
	}
	p := filepath.Join(s.rootDir, filepath.FromSlash(clean))
	// Resolve as far as the path exists; a missing tail cannot escape.
	for {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			rel, err := filepath.Rel(root, real)
			return err != nil || !filepath.IsLocal(rel) && rel != "."
		}
		if target, lerr := os.Readlink(p); lerr == nil {
			// A dangling symlink: judge where it points.
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(p), target)
			}
			rel, err := filepath.Rel(root, filepath.Clean(target))
			if err != nil || !filepath.IsLocal(rel) {
				return true
			}
		}
		parent := filepath.Dir(p)
		if parent == p || len(parent) < len(s.rootDir) {
			return false
		}
		p = parent
	}
}
