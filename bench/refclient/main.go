// refclient - a minimal ACME client for bench/ceiling.sh: the reference
// rate renewd is measured against (issue 13). It registers one account
// before timing, then places -n single-name orders, -inflight at a time,
// answers http-01 from its own listener, polls every -poll (20 ms) and
// keeps each certificate and key in memory (no files, no fsync).
//
// Build offline on Debian's golang-golang-x-crypto-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o refclient .
//
// Output: one line of figures ("refclient: n=... wall=... rate=...").
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/acme"
)

var (
	dirURL   = flag.String("dir", "", "ACME directory URL")
	caFile   = flag.String("cafile", "", "CA bundle for the directory's TLS")
	listen   = flag.String("http01", "127.0.0.1:5002", "http-01 listen address")
	n        = flag.Int("n", 200, "certificates")
	inflight = flag.Int("inflight", 8, "orders in flight")
	suffix   = flag.String("suffix", "ref.example", "names are rI.SUFFIX")
	poll     = flag.Duration("poll", 20*time.Millisecond, "poll interval")
)

var requests int64 // every request to the CA

// counter counts requests. x/crypto/acme waits for a "processing" order
// with Retry-After or 1 s; to keep the 20 ms schedule for the finalized
// order too, such an answer is held back -poll and marked "Retry-After: 0"
// (an HTTP date in the past), so its next poll follows at once.
type counter struct{ next http.RoundTripper }

func (c counter) RoundTrip(r *http.Request) (*http.Response, error) {
	atomic.AddInt64(&requests, 1)
	res, err := c.next.RoundTrip(r)
	if err != nil || !strings.Contains(r.URL.Path, "order") ||
		res.Header.Get("Retry-After") != "" {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	if bytes.Contains(body, []byte(`"status": "processing"`)) ||
		bytes.Contains(body, []byte(`"status":"processing"`)) {
		time.Sleep(*poll)
		res.Header.Set("Retry-After", "Mon, 01 Jan 2001 00:00:00 GMT")
	}
	return res, nil
}

type tokens struct {
	sync.Mutex
	m map[string]string
}

func (t *tokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const pfx = "/.well-known/acme-challenge/"
	t.Lock()
	v, ok := t.m[strings.TrimPrefix(r.URL.Path, pfx)]
	t.Unlock()
	if !ok || !strings.HasPrefix(r.URL.Path, pfx) {
		http.NotFound(w, r)
		return
	}
	io.WriteString(w, v)
}

func (t *tokens) set(k, v string) { t.Lock(); t.m[k] = v; t.Unlock() }
func (t *tokens) del(k string)    { t.Lock(); delete(t.m, k); t.Unlock() }

// issue runs one order for name to the certificate; returns its DER chain.
func issue(ctx context.Context, c *acme.Client, tok *tokens, name string) ([][]byte, error) {
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs(name))
	if err != nil {
		return nil, fmt.Errorf("newOrder: %v", err)
	}
	// every authorization fetched and answered before any is polled
	var urls []string
	for _, u := range o.AuthzURLs {
		a, err := c.GetAuthorization(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", u, err)
		}
		if a.Status == acme.StatusValid {
			continue
		}
		var ch *acme.Challenge
		for _, x := range a.Challenges {
			if x.Type == "http-01" {
				ch = x
			}
		}
		if ch == nil {
			return nil, fmt.Errorf("%s: no http-01", u)
		}
		ka, err := c.HTTP01ChallengeResponse(ch.Token)
		if err != nil {
			return nil, err
		}
		tok.set(ch.Token, ka)
		defer tok.del(ch.Token)
		if _, err := c.Accept(ctx, ch); err != nil {
			return nil, fmt.Errorf("%s: %v", ch.URI, err)
		}
		urls = append(urls, u)
	}
	for _, u := range urls {
		for {
			a, err := c.GetAuthorization(ctx, u)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", u, err)
			}
			if a.Status == acme.StatusValid {
				break
			}
			if a.Status != acme.StatusPending {
				return nil, fmt.Errorf("%s: %s", u, a.Status)
			}
			time.Sleep(*poll)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}}, key)
	if err != nil {
		return nil, err
	}
	der, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csr, true)
	if err != nil {
		return nil, fmt.Errorf("finalize: %v", err)
	}
	return der, nil
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func main() {
	flag.Parse()
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "refclient:", err)
		os.Exit(1)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 64}
	akey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c := &acme.Client{Key: akey, DirectoryURL: *dirURL,
		HTTPClient: &http.Client{Transport: counter{tr}}}
	ctx := context.Background()

	tok := &tokens{m: map[string]string{}}
	go func() {
		if err := http.ListenAndServe(*listen, tok); err != nil {
			fmt.Fprintln(os.Stderr, "refclient: http-01:", err)
			os.Exit(1)
		}
	}()
	if _, err := c.Register(ctx, &acme.Account{Contact: []string{"mailto:bench@example.com"}},
		acme.AcceptTOS); err != nil {
		fmt.Fprintln(os.Stderr, "refclient: newAccount:", err)
		os.Exit(1)
	}
	req0, cpu0 := atomic.LoadInt64(&requests), cpuSeconds()
	start := time.Now()
	lat := make([]float64, *n)
	sem := make(chan struct{}, *inflight)
	var wg sync.WaitGroup
	var failed int64
	for i := 0; i < *n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			t := time.Now()
			name := fmt.Sprintf("r%d.%s", i+1, *suffix)
			if _, err := issue(ctx, c, tok, name); err != nil {
				fmt.Fprintf(os.Stderr, "refclient: %s: %v\n", name, err)
				atomic.AddInt64(&failed, 1)
			}
			lat[i] = time.Since(t).Seconds()
		}(i)
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	sort.Float64s(lat)
	fmt.Printf("refclient: n=%d failed=%d wall=%.3f rate=%.1f cpu=%.3f "+
		"requests_per_order=%.2f p50=%.3f p90=%.3f\n", *n, failed, wall,
		float64(*n)/wall, cpuSeconds()-cpu0,
		float64(atomic.LoadInt64(&requests)-req0)/float64(*n),
		lat[len(lat)/2], lat[len(lat)*9/10])
	if failed > 0 {
		os.Exit(1)
	}
}
