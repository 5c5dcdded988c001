package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTemporalUI: the Web UI serves its pages and, through its HTTP API,
// this stack's workflows with their search attributes, and tells the
// browser which codec endpoint decodes payloads.
func TestTemporalUI(t *testing.T) {
	tp := startTestTemporal(t, TemporalOptions{})
	c := newTestClient(t, tp)
	startTestWorker(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := runGreet(ctx, c, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	if _, err := listByTenant(ctx, c, "fabrikam", 1); err != nil {
		t.Fatal(err)
	}

	ui, err := StartTemporalUI(ctx, TemporalUIOptions{Temporal: tp.HostPort(), CodecEndpoint: "http://127.0.0.1:8088"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ui.Stop)

	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(ui.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %.300s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	if page := get("/"); !strings.Contains(page, "<html") {
		t.Errorf("the UI's page: %.300s", page)
	}

	var settings struct {
		Codec            struct{ Endpoint string }
		DefaultNamespace string
	}
	if err := json.Unmarshal([]byte(get("/api/v1/settings")), &settings); err != nil {
		t.Fatal(err)
	}
	if settings.Codec.Endpoint != "http://127.0.0.1:8088" || settings.DefaultNamespace != DefaultNamespace {
		t.Errorf("settings the browser gets: %+v", settings)
	}

	q := url.QueryEscape(SearchAttributeTenant + ` = "fabrikam"`)
	var list struct {
		Executions []struct {
			Execution        struct{ WorkflowID string }
			SearchAttributes struct {
				IndexedFields map[string]json.RawMessage
			}
		}
	}
	if err := json.Unmarshal([]byte(get("/api/v1/namespaces/"+DefaultNamespace+"/workflows?query="+q)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Executions) != 1 || list.Executions[0].Execution.WorkflowID != "greet-fabrikam" {
		t.Fatalf("workflows the UI lists for the tenant: %+v", list.Executions)
	}
	if _, ok := list.Executions[0].SearchAttributes.IndexedFields[SearchAttributeTenant]; !ok {
		t.Errorf("the listed workflow lacks its %s search attribute: %+v", SearchAttributeTenant, list.Executions[0].SearchAttributes)
	}
}

// TestTemporalUIPortTaken: a taken port is an error naming the flag, not
// the ui-server's exit of the whole process.
func TestTemporalUIPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = StartTemporalUI(context.Background(), TemporalUIOptions{Port: port, Temporal: "127.0.0.1:7233"})
	var inUse *PortInUseError
	if !errors.As(err, &inUse) || !strings.Contains(err.Error(), "--ui-port") || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Fatalf("StartTemporalUI on a taken port: %v", err)
	}
}
