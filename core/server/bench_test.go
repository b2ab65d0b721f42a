package server_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aco-dev/aco/core/server"
	"github.com/aco-dev/aco/core/store/sqlite"
)

// BenchmarkIngest records calls (a cache look-up, then the node) from 8
// concurrent runners over real TCP and reports calls per second.
func BenchmarkIngest(b *testing.B) {
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
	var wg sync.WaitGroup
	errs := make(chan error, runners)
	b.ResetTimer()
	for r := 0; r < runners; r++ {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			errs <- ingest(s.RunnerAddr(), r, per)
		}(r)
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(per*runners)/b.Elapsed().Seconds(), "calls/s")
}

func ingest(addr string, r, n int) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
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
	if err := send(map[string]any{"type": "hello", "protocol": 1, "name": "bench"}); err != nil {
		return err
	}
	hello, err := recv()
	if err != nil {
		return err
	}
	run := hello["run_id"].(string)
	for i := 0; i < n; i++ {
		hash := fmt.Sprintf("%d-%d", r, i)
		if err := send(map[string]any{"type": "cache_get", "id": i + 1, "run_id": run, "api": "a", "input_hash": hash}); err != nil {
			return err
		}
		ans, err := recv()
		if err != nil {
			return err
		}
		prompt := fmt.Sprintf("Add 1 to %d", i)
		if err := send(map[string]any{"type": "add_node", "run_id": run, "node_id": ans["node_id"], "api": "a", "model": "m",
			"input": map[string]any{"input": prompt}, "input_hash": hash, "output": map[string]any{"data": "43"},
			"input_text": prompt, "output_text": fmt.Sprint(i + 1), "location": "x.py:1"}); err != nil {
			return err
		}
	}
	if err := send(map[string]any{"type": "cache_get", "id": n + 1, "run_id": run, "api": "a", "input_hash": "end"}); err != nil {
		return err
	}
	_, err = recv()
	return err
}
