// Command load drives a running mlsec server with concurrent API clients
// doing a mix of artifact registrations, list and get requests, and
// reports requests per second, latency percentiles, errors and the
// server's resident memory (from /proc, when its pid is given).
//
//	go run ./bench/load -url http://127.0.0.1:8080 -token-file DATA/admin.token -clients 50 -duration 30s -pid PID
//
// Every client uses its own token when -tokens N > 1 asks the tool to
// create them (admin token required), so per-caller rate limits apply as
// in production; registrations use fresh digests, gets ask for artifacts
// registered earlier in the run, lists the newest 100.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	op     string
	status int
	dur    time.Duration
}

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "server URL")
	tokenFile := flag.String("token-file", "mlsec-data/admin.token", "file holding an admin API token")
	clients := flag.Int("clients", 50, "concurrent clients")
	duration := flag.Duration("duration", 30*time.Second, "how long to run")
	warmup := flag.Duration("warmup", 3*time.Second, "run this long first without measuring")
	mix := flag.String("mix", "20,40,40", "percent of register,list,get requests")
	pid := flag.Int("pid", 0, "server pid, to report its resident memory")
	seed := flag.Int("seed", 200, "artifacts registered before the run")
	perClientTokens := flag.Bool("token-per-client", true, "give every client its own ml-engineer token")
	flag.Parse()

	b, err := os.ReadFile(*tokenFile)
	if err != nil {
		log.Fatal(err)
	}
	admin := strings.TrimSpace(string(b))
	var weights [3]int
	for i, f := range strings.Split(*mix, ",") {
		if i > 2 {
			log.Fatal("-mix: three percentages")
		}
		weights[i], err = strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			log.Fatalf("-mix: %v", err)
		}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *clients * 2, MaxConnsPerHost: *clients * 2}
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	run := fmt.Sprintf("%d", time.Now().UnixNano())

	tokens := make([]string, *clients)
	for i := range tokens {
		tokens[i] = admin
		if *perClientTokens {
			body, _ := json.Marshal(map[string]string{"name": fmt.Sprintf("load-%s-%d", run, i), "role": "ml-engineer"})
			var out struct {
				Secret string `json:"secret"`
			}
			st, err := call(c, "POST", *base+"/api/v1/tokens", admin, body, &out)
			if err != nil || st != http.StatusCreated || out.Secret == "" {
				log.Fatalf("create token: %d %v", st, err)
			}
			tokens[i] = out.Secret
		}
	}
	var seq atomic.Int64
	var known []string
	var knownMu sync.RWMutex
	register := func(tok string) (int, error) {
		i := seq.Add(1)
		d := digest(run, i)
		body, _ := json.Marshal(map[string]any{"digest": d, "name": fmt.Sprintf("load/model-%d", i), "version": "v1", "kind": "model", "size": 1024})
		st, err := call(c, "POST", *base+"/api/v1/artifacts", tok, body, nil)
		if err == nil && (st == http.StatusCreated || st == http.StatusOK) {
			knownMu.Lock()
			known = append(known, d)
			knownMu.Unlock()
		}
		return st, err
	}
	for i := range *seed {
		if st, err := register(tokens[i%len(tokens)]); err != nil || st >= 300 {
			log.Fatalf("seed: %d %v", st, err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), *warmup+*duration)
	defer cancel()
	measureFrom := time.Now().Add(*warmup)
	results := make(chan result, 4096)
	var wg sync.WaitGroup
	for i := range *clients {
		wg.Add(1)
		go func(tok string, r *rand.Rand) {
			defer wg.Done()
			for ctx.Err() == nil {
				n := r.IntN(weights[0] + weights[1] + weights[2])
				var op string
				var st int
				var err error
				t0 := time.Now()
				switch {
				case n < weights[0]:
					op = "register"
					st, err = register(tok)
				case n < weights[0]+weights[1]:
					op = "list"
					st, err = call(c, "GET", *base+"/api/v1/artifacts?limit=100", tok, nil, nil)
				default:
					op = "get"
					knownMu.RLock()
					d := known[r.IntN(len(known))]
					knownMu.RUnlock()
					st, err = call(c, "GET", *base+"/api/v1/artifacts/"+d, tok, nil, nil)
				}
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					st = -1
				}
				if t0.After(measureFrom) {
					results <- result{op, st, time.Since(t0)}
				}
			}
		}(tokens[i], rand.New(rand.NewPCG(uint64(i), 7)))
	}
	var rssPeak int64
	stopRSS := make(chan struct{})
	if *pid > 0 {
		go func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stopRSS:
					return
				case <-t.C:
					if v := rss(*pid); v > rssPeak {
						rssPeak = v
					}
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()
	byOp := map[string][]time.Duration{}
	var all []time.Duration
	errs := map[int]int{}
	for r := range results {
		byOp[r.op] = append(byOp[r.op], r.dur)
		all = append(all, r.dur)
		if r.status < 200 || r.status >= 300 {
			errs[r.status]++
		}
	}
	close(stopRSS)
	fmt.Printf("clients %d, mix register/list/get %s%%, %v measured after %v warm-up\n", *clients, *mix, *duration, *warmup)
	fmt.Printf("%-9s %8s %9s %8s %8s %8s\n", "op", "requests", "req/s", "p50 ms", "p99 ms", "max ms")
	line := func(name string, ds []time.Duration) {
		if len(ds) == 0 {
			return
		}
		slices.Sort(ds)
		q := func(p float64) float64 { return float64(ds[int(p*float64(len(ds)-1))]) / 1e6 }
		fmt.Printf("%-9s %8d %9.1f %8.1f %8.1f %8.1f\n", name, len(ds), float64(len(ds))/duration.Seconds(), q(0.5), q(0.99), q(1))
	}
	for _, op := range []string{"register", "list", "get"} {
		line(op, byOp[op])
	}
	line("all", all)
	if len(errs) == 0 {
		fmt.Println("errors: none")
	} else {
		fmt.Printf("errors (status: count): %v\n", errs)
	}
	if *pid > 0 {
		fmt.Printf("server RSS: peak %.1f MiB during the run, %.1f MiB now\n", float64(rssPeak)/(1<<20), float64(rss(*pid))/(1<<20))
	}
	if len(errs) > 0 {
		os.Exit(1)
	}
}

// digest is the i-th synthetic digest of this run.
func digest(run string, i int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	sum := sha256.Sum256(append([]byte(run), b[:]...))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func call(c *http.Client, method, url, token string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// rss returns a process's resident set size in bytes (0 if unknown).
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n << 10
			}
		}
	}
	return 0
}
