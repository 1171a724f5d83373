/*  =========================================================================
    lan_node - one rumor node for tests/lan.sh, run inside a test namespace

        lan_node NAME CLUSTER IFACE BEACON_PORT SECONDS NETNS

    Starts a node with the LAN beacon (zbeacon) on IFACE, no seeds, the
    local timing profile; sets the key "host" to NAME; prints one line per
    event on stdout:
        STARTED <id> <endpoint>
        <TYPE> <name> <id>                       member events
        KEY <name> <key> <value>                 KEY_SET
    and exits after SECONDS, on "quit" on stdin, or on SIGINT/SIGTERM.

    Safety: a LAN beacon broadcasts on its interface. This program refuses
    to run anywhere but inside the network namespace NETNS (as created by
    "ip netns add", here by tests/netns-lan.sh), so its beacons can only
    reach that private bridge.
    =========================================================================
*/

#include <unistd.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>
#include "rumor.h"

//  True if we run inside the network namespace netns that "ip netns add"
//  created (its handle is /run/netns/<netns>): never the host's own
static bool
s_in_namespace (const char *netns)
{
    char path [256];
    snprintf (path, sizeof (path), "/run/netns/%s", netns);
    struct stat ours, named, host;
    if (strchr (netns, '/')
    ||  stat ("/proc/self/ns/net", &ours)
    ||  stat (path, &named))
        return false;
    //  Whoever started us (the test script) must live elsewhere: a handle
    //  to the host namespace itself would pass the first check
    bool parent_elsewhere = stat ("/proc/1/ns/net", &host) != 0
                         || host.st_ino != ours.st_ino;
    return ours.st_ino == named.st_ino && ours.st_dev == named.st_dev
        && parent_elsewhere;
}

static void
s_print_event (rumor_event_t *event)
{
    rumor_event_type_t type = rumor_event_type (event);
    if (type == RUMOR_EVENT_KEY_SET)
        printf ("KEY %s %s %.*s\n", rumor_event_name (event),
                rumor_event_topic (event), (int) rumor_event_size (event),
                (const char *) rumor_event_data (event));
    else
    if (type <= RUMOR_EVENT_UPDATED)
        printf ("%s %s %s\n", rumor_event_type_name (event),
                rumor_event_name (event), rumor_event_member (event));
    fflush (stdout);
}

int
main (int argc, char *argv [])
{
    if (argc != 7) {
        fprintf (stderr, "usage: lan_node NAME CLUSTER IFACE BEACON_PORT "
                         "SECONDS NETNS\n");
        return 2;
    }
    if (!s_in_namespace (argv [6])) {
        fprintf (stderr, "lan_node: refusing to beacon outside the test "
                         "namespace %s (run it through netns-lan.sh exec)\n",
                 argv [6]);
        return 2;
    }
    zsys_set_max_sockets (1024);
    rumor_t *node = rumor_new (argv [1]);
    if (!node
    ||  rumor_set_cluster (node, argv [2])
    ||  rumor_set_beacon (node, RUMOR_BEACON_LAN)
    ||  rumor_set_interface (node, argv [3])
    ||  rumor_set_beacon_port (node, atoi (argv [4]))
    ||  rumor_set_profile (node, RUMOR_PROFILE_LOCAL)
    ||  rumor_start (node)) {
        fprintf (stderr, "lan_node: cannot start\n");
        rumor_destroy (&node);
        return 1;
    }
    printf ("STARTED %s %s\n", rumor_id (node), rumor_endpoint (node));
    fflush (stdout);
    rumor_set_str (node, "host", argv [1], 0);

    int64_t deadline = zclock_mono () + atoi (argv [5]) * 1000;
    zmq_pollitem_t items [] = {
        { zsock_resolve (rumor_socket (node)), 0, ZMQ_POLLIN, 0 },
        { NULL, STDIN_FILENO, ZMQ_POLLIN, 0 }
    };
    int nitems = 2;
    while (!zsys_interrupted && zclock_mono () < deadline) {
        int64_t left = deadline - zclock_mono ();
        if (zmq_poll (items, nitems, left > 200? 200: left) < 0)
            break;
        if (items [0].revents & ZMQ_POLLIN) {
            rumor_event_t *event = rumor_recv_timeout (node, 0);
            if (event)
                s_print_event (event);
            rumor_event_destroy (&event);
        }
        if (nitems > 1 && (items [1].revents & ZMQ_POLLIN)) {
            char line [64];
            ssize_t size = read (STDIN_FILENO, line, sizeof (line) - 1);
            if (size <= 0)
                nitems = 1;         //  stdin closed: time bound only
            else
            if (strncmp (line, "quit", 4) == 0)
                break;
        }
    }
    rumor_destroy (&node);
    printf ("STOPPED\n");
    return 0;
}
