package docker

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// The Docker calls behind the node faults of every container cluster (kill, restart, pause,
// disconnect), each on one leader's container (cid) and naming the leader (name) in its error.
// What a cluster must do around them (wait until the leader answers, reset the links into it,
// give it back what it missed) is its own.

// LeaderState is a leader's container as Docker reports it.
type LeaderState struct {
	Running, Paused bool
	Connected       bool   // on the run's network
	IP              string // its address there, "" when it is off the network
}

// InspectLeader asks Docker how a leader's container is. The operations that undo a fault trust
// it over a cluster's own record: a Docker call that gave up on this side (a timeout under load)
// may still have taken effect on the other, and a fault nobody knows about is never undone. It
// has 20 seconds of its own, even when ctx has ended, since it is what a final heal relies on.
func InspectLeader(ctx context.Context, cli *client.Client, cid, networkName, name string) (LeaderState, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	res, err := cli.ContainerInspect(ctx, cid, client.ContainerInspectOptions{})
	if err != nil {
		return LeaderState{}, fmt.Errorf("docker: inspecting %s: %w", name, err)
	}
	var s LeaderState
	if st := res.Container.State; st != nil {
		s.Running, s.Paused = st.Running, st.Paused
	}
	if ns := res.Container.NetworkSettings; ns != nil {
		if ep, ok := ns.Networks[networkName]; ok && ep != nil {
			s.Connected = true
			if ep.IPAddress.IsValid() {
				s.IP = ep.IPAddress.String()
			}
		}
	}
	return s, nil
}

// KillLeader sends SIGKILL to a leader's container, thawing it first if it is paused (a paused
// container takes the signal, but Docker keeps it paused until unpaused). Its filesystem stays.
func KillLeader(ctx context.Context, cli *client.Client, cid, name string, paused bool) error {
	if paused {
		if _, err := cli.ContainerUnpause(ctx, cid, client.ContainerUnpauseOptions{}); err != nil {
			return fmt.Errorf("docker: unpausing %s to kill it: %w", name, err)
		}
	}
	if _, err := cli.ContainerKill(ctx, cid, client.ContainerKillOptions{Signal: "SIGKILL"}); err != nil {
		return fmt.Errorf("docker: killing %s: %w", name, err)
	}
	return nil
}

// StartLeader starts a stopped leader's container again, from its own filesystem, without
// waiting for anything.
func StartLeader(ctx context.Context, cli *client.Client, cid, name string) error {
	if _, err := cli.ContainerStart(ctx, cid, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("docker: restarting %s: %w", name, err)
	}
	return nil
}

// PauseLeader freezes (on) or thaws a leader's container.
func PauseLeader(ctx context.Context, cli *client.Client, cid, name string, on bool) error {
	var err error
	if on {
		_, err = cli.ContainerPause(ctx, cid, client.ContainerPauseOptions{})
	} else {
		_, err = cli.ContainerUnpause(ctx, cid, client.ContainerUnpauseOptions{})
	}
	if err != nil {
		return fmt.Errorf("docker: pause %v of %s: %w", on, name, err)
	}
	return nil
}

// DisconnectLeader takes a leader's container off the run's network.
func DisconnectLeader(ctx context.Context, cli *client.Client, networkName, cid, name string) error {
	if _, err := cli.NetworkDisconnect(ctx, networkName, client.NetworkDisconnectOptions{Container: cid, Force: true}); err != nil {
		return fmt.Errorf("docker: disconnecting %s: %w", name, err)
	}
	return nil
}

// ConnectLeader puts a leader's container back on the run's network, under its name there.
func ConnectLeader(ctx context.Context, cli *client.Client, networkName, cid, name string) error {
	if _, err := cli.NetworkConnect(ctx, networkName, client.NetworkConnectOptions{
		Container: cid, EndpointConfig: &network.EndpointSettings{Aliases: []string{name}},
	}); err != nil {
		return fmt.Errorf("docker: reconnecting %s: %w", name, err)
	}
	return nil
}
