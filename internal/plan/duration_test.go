package plan

import (
	"encoding/json"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"90s", 90 * time.Second, false},
		{"30m", 30 * time.Minute, false},
		{"72h", 72 * time.Hour, false},
		{"7d", 7 * 24 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"1h30m", 90 * time.Minute, false},
		{"-5m", -5 * time.Minute, false},
		{"0", 0, false},
		{"0d", 0, false},
		{"", 0, true},
		{"30", 0, true},
		{"d", 0, true},
		{"1.5d", 0, true},
		{"1d-5h", 0, true},
		{"5m1d", 0, true},
		{"soon", 0, true},
		{"99999999999d", 0, true},
		{"106751d23h", 2562047 * time.Hour, false},
		{"106751d24h", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && got.D() != tt.want) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tt.in, got.D(), err, tt.want, tt.wantErr)
		}
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{10 * time.Second, "10s"},
		{90 * time.Second, "1m30s"},
		{time.Hour, "1h"},
		{90 * time.Minute, "1h30m"},
		{72 * time.Hour, "3d"},
		{25 * time.Hour, "25h"},
		{1500 * time.Millisecond, "1.5s"},
		{-48 * time.Hour, "-2d"},
	}
	for _, tt := range tests {
		d := Duration(tt.in)
		if got := d.String(); got != tt.want {
			t.Errorf("Duration(%v).String() = %q, want %q", tt.in, got, tt.want)
		}
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", d.String(), back.D(), err, tt.in)
		}
	}
}

func TestDurationJSONAndYAML(t *testing.T) {
	type holder struct {
		D Duration `json:"d" yaml:"d"`
	}
	for _, d := range []Duration{0, Duration(10 * time.Second), Duration(72 * time.Hour), Duration(time.Nanosecond)} {
		b, err := json.Marshal(holder{d})
		if err != nil {
			t.Fatal(err)
		}
		var h holder
		if err := json.Unmarshal(b, &h); err != nil || h.D != d {
			t.Errorf("JSON %s -> %v, %v; want %v", b, h.D.D(), err, d.D())
		}
		y, err := yaml.Marshal(holder{d})
		if err != nil {
			t.Fatal(err)
		}
		h = holder{}
		if err := yaml.Unmarshal(y, &h); err != nil || h.D != d {
			t.Errorf("YAML %s -> %v, %v; want %v", y, h.D.D(), err, d.D())
		}
	}
	var h holder
	if err := json.Unmarshal([]byte(`{"d":"7d"}`), &h); err != nil || h.D.D() != 7*24*time.Hour {
		t.Errorf("JSON 7d = %v, %v", h.D.D(), err)
	}
	if err := json.Unmarshal([]byte(`{"d":1000}`), &h); err != nil || h.D.D() != time.Microsecond {
		t.Errorf("JSON nanoseconds = %v, %v", h.D.D(), err)
	}
	for _, bad := range []string{`{"d":"soon"}`, `{"d":true}`} {
		if err := json.Unmarshal([]byte(bad), &h); err == nil {
			t.Errorf("JSON %s accepted", bad)
		}
	}
	if err := yaml.Unmarshal([]byte("d: 30\n"), &h); err == nil {
		t.Error("YAML bare number accepted as a duration")
	}
}
