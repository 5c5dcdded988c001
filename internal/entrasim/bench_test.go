package entrasim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkRegistrationDetailsPaging scans userRegistrationDetails of a
// 100,000-user tenant to the end, one op per full scan, through the handler
// (no network). It reports pages/s and rows per scan; -benchmem gives
// allocations per scan.
func BenchmarkRegistrationDetailsPaging(b *testing.B) {
	srv, err := New(Options{Users: 100000, Seed: 1, TimeScale: -1})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	tok := "Bearer " + srv.Token()
	for _, top := range []string{"100", "999"} {
		b.Run("top="+top, func(b *testing.B) {
			b.ReportAllocs()
			pages := 0
			for b.Loop() {
				next := "/v1.0/reports/authenticationMethods/userRegistrationDetails?$top=" + top
				rows := 0
				for next != "" {
					req := httptest.NewRequest(http.MethodGet, next, nil)
					req.Header.Set("Authorization", tok)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
					// Cheap client: count rows and cut the nextLink out, so the
					// benchmark measures the server.
					body := rec.Body.Bytes()
					rows += bytes.Count(body, []byte(`"userPrincipalName":`))
					pages++
					next = ""
					if i := bytes.LastIndex(body, []byte(`"@odata.nextLink":"`)); i >= 0 {
						var link string
						if err := json.Unmarshal(body[i+len(`"@odata.nextLink":`):len(body)-1], &link); err != nil {
							b.Fatal(err)
						}
						next = link[strings.Index(link, "/v1.0/"):]
					}
				}
				if rows != 100008 {
					b.Fatalf("%d rows", rows)
				}
			}
			b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
			b.ReportMetric(float64(pages)/float64(b.N), "pages/op")
		})
	}
}
