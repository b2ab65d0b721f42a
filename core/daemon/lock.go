package daemon

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// flock locks belong to an open file description, so two opens of the same
// file conflict even inside one process; tests rely on that to play several
// launchers with goroutines.

// tryLock takes how (LOCK_EX or LOCK_SH) on path without blocking. It
// returns nil, nil when another holder has the lock.
func tryLock(path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err == nil {
		return f, nil
	}
	f.Close()
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil, nil
	}
	return nil, err
}

// unlock releases a lock taken by tryLock.
func unlock(f *os.File) {
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	f.Close()
}

// held reports whether some process holds path exclusively. It takes a
// shared lock for an instant, which is why Acquire retries for a moment
// instead of failing on the first refusal.
func held(path string) (bool, error) {
	f, err := tryLock(path, syscall.LOCK_SH)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	if f == nil {
		return true, nil
	}
	unlock(f)
	return false, nil
}

// pollEvery calls done every interval until it returns true or an error, or
// ctx ends. The processes waited for here (a daemon's ports, another
// process's lock) offer nothing to block on, hence the polling.
func pollEvery(ctx context.Context, interval time.Duration, done func() (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
