//go:build !linux

package tsdb

import "os"

func datasync(f *os.File) error { return f.Sync() }

func allocate(f *os.File, size int64) error { return f.Truncate(size) }

func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
}

func adviseRandom(f *os.File) {}

func dropCache(f *os.File) {}
