package sambadc_test

import (
	"context"
	"fmt"
	"log"

	"github.com/ssprflow/ssprflow/internal/sambadc"
)

// Start a DC, add a connector account and a user, and point ssprflow's
// directory settings at it. (Compiled, not run: it needs root and Samba.)
func ExampleStart() {
	ctx := context.Background()
	dc, err := sambadc.Start(ctx, sambadc.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer dc.Stop()
	if _, err := dc.CreateConnectorAccount(ctx, "MSOL_ssprflow", "Conn3ct0r!Pass"); err != nil {
		log.Fatal(err)
	}
	ou, err := dc.CreateOU(ctx, "", "Pilot")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := dc.CreateUser(ctx, ou, "alice", "Us3r!Initial1"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("url:", dc.URL(), "caFile:", dc.CAFile, "serverName:", dc.ServerName, "bindUser:", dc.AdminUser)
}
