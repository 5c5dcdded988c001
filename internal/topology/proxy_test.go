package topology

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// TestProxyDropsAndRestores: the PostgreSQL fault's injector. While down,
// open connections are closed and new ones refused; after up, connections
// pass again.
func TestProxyDropsAndRestores(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	p := startProxy(t, echo.Addr().String())
	roundTrip := func(c net.Conn) error {
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("ping\n")); err != nil {
			return err
		}
		_, err := bufio.NewReader(c).ReadString('\n')
		return err
	}
	open, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if err := roundTrip(open); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if n := p.down(); n != 2 {
		t.Errorf("down dropped %d connections, want 2 (client side and server side of one)", n)
	}
	if err := roundTrip(open); err == nil {
		t.Error("a connection open before down still works")
	}
	if c, err := net.Dial("tcp", p.addr()); err == nil {
		if roundTrip(c) == nil {
			t.Error("a new connection works while down")
		}
		c.Close()
	}
	p.up()
	c, err := net.Dial("tcp", p.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := roundTrip(c); err != nil {
		t.Errorf("after up: %v", err)
	}
}
