package plan_test

import (
	"errors"
	"fmt"

	"github.com/ssprflow/ssprflow/internal/plan"
)

func ExampleLoad() {
	doc := []byte(`apiVersion: ssprflow/v1
kind: Rollout
metadata:
  name: demo
  tenant: contoso.onmicrosoft.com
spec:
  methodsRequired: 3
  helpdesk:
    url: http://support.contoso.com
  stages:
    - name: all
      all: true
`)
	_, err := plan.Load("demo.yaml", doc)
	var ve *plan.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Printf("%d %s\n", p.Line, p.Field)
		}
		fmt.Println(err)
	}
	// Output:
	// 7 spec.methodsRequired
	// 9 spec.helpdesk.url
	// demo.yaml:7:20: spec.methodsRequired: must be 1 or 2, got 3 (fix: set methodsRequired to 1 or 2)
	// demo.yaml:9:10: spec.helpdesk.url: must use https://, got an http:// URL (fix: change http:// to https:// and check the page is served over TLS)
}

func ExampleRollout_TenantToken() {
	r, err := plan.LoadFile("../../examples/pilot.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.TenantToken())
	fmt.Println(r.GateFor(0).Approvals, r.GateFor(0).Timeout)
	// Output:
	// contoso_onmicrosoft_com
	// 1 1h
}
