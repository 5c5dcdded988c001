package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssprflow/ssprflow/internal/entrasim"
)

// rawCount pages through userRegistrationDetails with plain net/http and
// encoding/json: the same requests as the SDK path ($select, $top, then the
// service's nextLinks verbatim), one page in memory at a time.
func rawCount(ctx context.Context, hc *http.Client, base, token string) (rows, registered int, err error) {
	next := base + "/reports/authenticationMethods/userRegistrationDetails?%24select=id,userPrincipalName,isSsprEnabled,isSsprRegistered,isSsprCapable&%24top=" + fmt.Sprint(reportPageSize)
	for next != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return 0, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, 0, err
		}
		var page struct {
			Value []struct {
				ID               string `json:"id"`
				IsSsprEnabled    bool   `json:"isSsprEnabled"`
				IsSsprRegistered bool   `json:"isSsprRegistered"`
				IsSsprCapable    bool   `json:"isSsprCapable"`
			} `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return 0, 0, err
		}
		if resp.StatusCode != http.StatusOK {
			return 0, 0, fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		for _, v := range page.Value {
			rows++
			if v.IsSsprRegistered {
				registered++
			}
		}
		next = page.NextLink
	}
	return rows, registered, nil
}

// heapPeak samples live heap bytes while fn runs and returns the peak above
// the level after a GC just before fn.
func heapPeak(fn func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	runtime.GC()
	base := read()
	var peak atomic.Uint64
	peak.Store(base)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if v := read(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	fn()
	close(done)
	<-stopped
	if v := read(); v > peak.Load() {
		peak.Store(v)
	}
	return peak.Load() - base
}

// BenchmarkCoverage scans userRegistrationDetails of a 100,000-user tenant
// (101 pages of 999 over loopback HTTP) through msgraph-sdk-go's page
// iterator and through plain net/http, alternating in the same run. Metrics:
// sdk-ns/op and http-ns/op (one full scan each), sdk/http (time ratio), and
// the peak live heap above the pre-scan level for each path (the simulator
// serves from the same process, so its per-page encoding is included in both).
func BenchmarkCoverage(b *testing.B) {
	const users = 100000
	s := startSim(b, entrasim.Options{Users: users, Seed: 1})
	c := s.client(b)
	ctx := context.Background()
	token := s.srv.Token()
	hc := &http.Client{Timeout: time.Minute}

	var sdkTime, rawTime time.Duration
	var sdkPeak, rawPeak uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var sdkRows, sdkReg, rawRows, rawReg int
		var err error
		start := time.Now()
		p := heapPeak(func() {
			err = c.eachRegistration(ctx, "", func(d regDetail) bool {
				sdkRows++
				if v := d.GetIsSsprRegistered(); v != nil && *v {
					sdkReg++
				}
				return true
			})
		})
		sdkTime += time.Since(start)
		sdkPeak = max(sdkPeak, p)
		if err != nil {
			b.Fatal(err)
		}

		start = time.Now()
		p = heapPeak(func() { rawRows, rawReg, err = rawCount(ctx, hc, s.base+"/v1.0", token) })
		rawTime += time.Since(start)
		rawPeak = max(rawPeak, p)
		if err != nil {
			b.Fatal(err)
		}
		if sdkRows != rawRows || sdkReg != rawReg || sdkRows < users {
			b.Fatalf("sdk %d/%d rows/registered, http %d/%d", sdkRows, sdkReg, rawRows, rawReg)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(sdkTime.Nanoseconds())/n, "sdk-ns/op")
	b.ReportMetric(float64(rawTime.Nanoseconds())/n, "http-ns/op")
	b.ReportMetric(float64(sdkTime)/float64(rawTime), "sdk/http")
	b.ReportMetric(float64(sdkPeak)/(1<<20), "sdk-peak-heap-MB")
	b.ReportMetric(float64(rawPeak)/(1<<20), "http-peak-heap-MB")
}
