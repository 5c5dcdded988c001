package entrasim_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ssprflow/ssprflow/internal/entrasim"
)

// Start a simulator, read a registration report row, enable SSPR for all
// users and let simulated time pass.
func Example() {
	sim, err := entrasim.New(entrasim.Options{Users: 100, Seed: 1, TimeScale: -1})
	if err != nil {
		panic(err)
	}
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	get := func(path string) map[string]any {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+sim.Token())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return m
	}
	alice := get("/v1.0/users/alice@contoso.onmicrosoft.com")["id"].(string)
	row := get("/v1.0/reports/authenticationMethods/userRegistrationDetails/" + alice)
	fmt.Println("enabled:", row["isSsprEnabled"], "registered:", row["isSsprRegistered"])
	sim.AdvanceClock(48 * time.Hour)
	row = get("/v1.0/reports/authenticationMethods/userRegistrationDetails/" + alice)
	fmt.Println("after 48h without SSPR, registered:", row["isSsprRegistered"])
	// Output:
	// enabled: false registered: false
	// after 48h without SSPR, registered: false
}
