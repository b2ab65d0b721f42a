package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aco-dev/aco/core/server"
	"github.com/aco-dev/aco/core/store/sqlite"
)

// BenchmarkIngest reruns 8 recorded runs concurrently over real TCP (each
// call a cache look-up answered from the recording, then the node) and
// reports calls per second; BenchmarkIngestFirst records new runs (nodes
// only, as the shim does in a first execution).
func BenchmarkIngest(b *testing.B)      { benchIngest(b, true) }
func BenchmarkIngestFirst(b *testing.B) { benchIngest(b, false) }

func benchIngest(b *testing.B, rerun bool) {
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "aco.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := server.New(server.Options{Store: db, Token: testToken})
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const runners = 8
	per := b.N/runners + 1
	pass := func(prev []string) []string {
		runs := make([]string, runners)
		var wg sync.WaitGroup
		errs := make(chan error, runners)
		for r := 0; r < runners; r++ {
			wg.Add(1)
			go func(r int) {
				defer wg.Done()
				p := ""
				if prev != nil {
					p = prev[r]
				}
				var err error
				runs[r], err = ingest(s.RunnerAddr(), r, per, p)
				errs <- err
			}(r)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		return runs
	}
	var recorded []string
	if rerun {
		b.StopTimer()
		recorded = pass(nil)
		b.StartTimer()
	}
	b.ResetTimer()
	pass(recorded)
	b.StopTimer()
	b.ReportMetric(float64(per*runners)/b.Elapsed().Seconds(), "calls/s")
}

// ingest records n calls as one run, or with prev reruns that run, looking
// every call up first (each must hit).
func ingest(addr string, r, n int, prev string) (string, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	rd := bufio.NewReader(conn)
	send := func(m map[string]any) error {
		b, _ := json.Marshal(m)
		_, err := conn.Write(append(b, '\n'))
		return err
	}
	recv := func() (map[string]any, error) {
		line, err := rd.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		var m map[string]any
		return m, json.Unmarshal(line, &m)
	}
	hello := map[string]any{"type": "hello", "protocol": 1, "name": "bench"}
	if prev != "" {
		hello["run_id"] = prev
	}
	if err := send(hello); err != nil {
		return "", err
	}
	session, err := recv()
	if err != nil {
		return "", err
	}
	run := session["run_id"].(string)
	for i := 0; i < n; i++ {
		hash := fmt.Sprintf("%d-%d", r, i)
		node := fmt.Sprintf("n%d-%d-%s", r, i, run)
		if prev != "" {
			if err := send(map[string]any{"type": "cache_get", "id": i + 1, "run_id": run, "api": "a", "input_hash": hash}); err != nil {
				return "", err
			}
			ans, err := recv()
			if err != nil {
				return "", err
			}
			if ans["hit"] != true {
				return "", fmt.Errorf("a rerun's look-up missed: %v", ans)
			}
			node = ans["node_id"].(string)
		}
		prompt := fmt.Sprintf("Add 1 to %d", i)
		if err := send(map[string]any{"type": "add_node", "run_id": run, "node_id": node, "api": "a", "model": "m",
			"input": map[string]any{"input": prompt}, "input_hash": hash, "output": map[string]any{"data": "43"},
			"input_text": prompt, "output_text": fmt.Sprint(i + 1), "location": "x.py:1", "cached": prev != ""}); err != nil {
			return "", err
		}
	}
	if err := send(map[string]any{"type": "deregister", "run_id": run, "status": "finished", "exit_code": 0}); err != nil {
		return "", err
	}
	conn.(*net.TCPConn).CloseWrite()
	_, err = io.Copy(io.Discard, rd)
	return run, err
}
