/*  =========================================================================
    rumor-sim - run a simulated rumor cluster on a virtual clock

    Starts N simulated nodes (tests/simnet.c: the real protocol cores, real
    sealed frames, a virtual network with seeded loss, delay and
    partitions), plays one scenario, prints progress per gossip round and a
    summary, and exits 0 if the scenario converged, 1 if not, 2 on bad
    usage. The same seed gives the same output, byte for byte, except the
    line that starts with "real time:".

    Scenarios (the measured window starts when the scenario's action does;
    every scenario but join first forms the cluster, untimed):
      join            every node joins through node 0; goal: every node
                      lists all N alive
      update          a key set on one node; goal: every node has it
      crash           one node crashes; goal: every live node lists it
                      DEAD, and no live node is ever declared DEAD
      partition-heal  two halves; goal 1: each side lists the other DEAD;
                      then heal; goal 2: one view (all alive everywhere)
                      with every key set before and during the partition
    The warm-up of the last three is the join scenario's trace (same seed,
    same calls), so their "warm-up join:" line gives the join's figures
    too. --clean-warm-up forms the cluster without loss; --linger keeps
    running past the goal so false verdicts are counted over a fixed time
    (tools/bench/sim_curves.sh uses both).
    =========================================================================
*/

#include "../tests/simnet.h"      //  the top-level build adds no tests/ path
#include <getopt.h>
#include <time.h>

//  Untimed warm-up bound: forming the cluster before update, crash and
//  partition-heal. Generous: with seeds only, today's cores take about
//  200 s to form 1,000 nodes (push-pull finishes what gossip misses).
#define S_WARMUP_MS     600000

typedef enum { S_JOIN, S_UPDATE, S_CRASH, S_PARTITION_HEAL } s_scenario_t;

typedef struct {
    size_t nodes;                   //  --nodes
    double loss;                    //  --loss
    int64_t delay;                  //  --delay
    int64_t jitter;                 //  --jitter
    uint64_t seed;                  //  --seed
    int64_t stagger;                //  --stagger
    s_scenario_t scenario;          //  --scenario
    int64_t max_time;               //  --rounds * round, or --max-time
    const char *csv;                //  --csv
    bool quiet;                     //  --quiet
    bool fast_path;                 //  --fast-path
    bool clean_warm_up;             //  --clean-warm-up
    int64_t linger;                 //  --linger
    int64_t settle;                 //  --settle
    int64_t beacon;                 //  --beacon
    int64_t rto;                    //  --rto
} s_options_t;

typedef struct {
    s_options_t *options;           //  what was asked
    simnet_t *net;                  //  the simulated network
    FILE *csv;                      //  per-round rows, or NULL
    int64_t t0;                     //  start of the measured window
    uint64_t msgs0;                 //  messages sent before the window
    uint64_t bytes0;                //  bytes sent before the window
    uint64_t false_dead0;           //  false verdicts before the window
    uint64_t false_suspect0;
    size_t victim;                  //  crash: the crashed node
    size_t split;                   //  partition: first node of side B
    size_t watches [4];             //  partition/update: watched keys
    size_t n_watches;
    int phase;                      //  partition-heal: 1 split, 2 healed
    int64_t healed_at;              //  partition-heal: when healed
    int64_t last_change;            //  last event that moved toward the
                                    //  goal: the exact time it was reached
    int64_t goal_at;                //  last_change when the goal was
                                    //  reached (--linger may move it on)
    int64_t last_alive;             //  last member ALIVE event: the exact
                                    //  time the warm-up's join was done
} s_run_t;

static const char *s_scenario_names [] = {
    "join", "update", "crash", "partition-heal"
};

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: rumor-sim [options]\n"
        "  --nodes N          simulated nodes (default 100)\n"
        "  --loss P           probability a frame is lost, 0..1 (default 0)\n"
        "  --delay MS         one-way delay in ms (default 1)\n"
        "  --jitter MS        + uniform 0..MS ms per frame (default 0)\n"
        "  --seed S           seed: one seed, one trace (default 1)\n"
        "  --scenario NAME    join | update | crash | partition-heal\n"
        "                     (default join)\n"
        "  --rounds R         give up after R gossip rounds of 200 ms\n"
        "  --max-time MS      give up after MS ms of virtual time\n"
        "                     (default 60000 per phase)\n"
        "  --stagger MS       join: node i starts at i * MS (default 0)\n"
        "  --fast-path        crash: peers see the TCP reset at once\n"
        "  --clean-warm-up    form the cluster without loss; --loss applies\n"
        "                     from the scenario's action on\n"
        "  --settle MS        update, crash, partition-heal: run MS ms more\n"
        "                     after the warm-up (default 0; 5 s always)\n"
        "  --linger MS        once converged, run MS ms more (false verdicts\n"
        "                     over a fixed window; default 0)\n"
        "  --beacon MS        LAN beacons every MS ms (default 0: seeds only)\n"
        "  --rto MS           a lost frame arrives MS ms late instead (TCP-like;\n"
        "                     doubled per further loss); default 0: it is lost\n"
        "  --csv FILE         write one row per round to FILE\n"
        "  --quiet            no per-round progress, summary only\n"
        "  --help             this text\n"
        "Exit status: 0 converged, 1 did not converge, 2 bad usage.\n");
}

//  --------------------------------------------------------------------------
//  Option parsing: strict numbers, anything odd is a usage error

static bool
s_parse_int (const char *text, int64_t min, int64_t max, int64_t *value)
{
    char *end = NULL;
    errno = 0;
    long long parsed = strtoll (text, &end, 10);
    if (errno || end == text || *end || parsed < min || parsed > max)
        return false;
    *value = parsed;
    return true;
}

static bool
s_parse_scenario (const char *text, s_scenario_t *scenario)
{
    for (int i = 0; i < 4; i++)
        if (streq (text, s_scenario_names [i])) {
            *scenario = (s_scenario_t) i;
            return true;
        }
    return false;
}

//  Parse one option; false on a bad value.
static bool
s_parse_option (int option, const char *arg, s_options_t *options)
{
    int64_t value = 0;
    char *end = NULL;
    switch (option) {
        case 'n':
            if (!s_parse_int (arg, 1, 1000000, &value))
                return false;
            options->nodes = (size_t) value;
            return true;
        case 'l':
            options->loss = strtod (arg, &end);
            return end != arg && !*end && options->loss >= 0
                && options->loss <= 1;
        case 'd':
            return s_parse_int (arg, 0, 3600000, &options->delay);
        case 'j':
            return s_parse_int (arg, 0, 3600000, &options->jitter);
        case 's':
            if (!s_parse_int (arg, 0, INT64_MAX, &value))
                return false;
            options->seed = (uint64_t) value;
            return true;
        case 'S':
            return s_parse_int (arg, 0, 3600000, &options->stagger);
        case 'c':
            return s_parse_scenario (arg, &options->scenario);
        case 'r':
            if (!s_parse_int (arg, 1, 1000000, &value))
                return false;
            options->max_time = value * SIMNET_ROUND_MS;
            return true;
        case 't':
            return s_parse_int (arg, 1, INT64_MAX / 4, &options->max_time);
        case 'o':
            options->csv = arg;
            return true;
        case 'q':
            options->quiet = true;
            return true;
        case 'f':
            options->fast_path = true;
            return true;
        case 'b':
            return s_parse_int (arg, 0, 3600000, &options->beacon);
        case 'w':
            options->clean_warm_up = true;
            return true;
        case 'L':
            return s_parse_int (arg, 0, 3600000, &options->linger);
        case 'e':
            return s_parse_int (arg, 0, 3600000, &options->settle);
        case 'R':
            return s_parse_int (arg, 0, 60000, &options->rto);
        default:
            return false;
    }
}

//  Returns 0 to run, 1 after --help, 2 on a usage error.
static int
s_parse_options (int argc, char *argv [], s_options_t *options)
{
    static const struct option longs [] = {
        { "nodes",     required_argument, NULL, 'n' },
        { "loss",      required_argument, NULL, 'l' },
        { "delay",     required_argument, NULL, 'd' },
        { "jitter",    required_argument, NULL, 'j' },
        { "seed",      required_argument, NULL, 's' },
        { "stagger",   required_argument, NULL, 'S' },
        { "scenario",  required_argument, NULL, 'c' },
        { "rounds",    required_argument, NULL, 'r' },
        { "max-time",  required_argument, NULL, 't' },
        { "csv",       required_argument, NULL, 'o' },
        { "quiet",     no_argument,       NULL, 'q' },
        { "fast-path", no_argument,       NULL, 'f' },
        { "clean-warm-up", no_argument,   NULL, 'w' },
        { "linger",    required_argument, NULL, 'L' },
        { "settle",    required_argument, NULL, 'e' },
        { "beacon",    required_argument, NULL, 'b' },
        { "rto",       required_argument, NULL, 'R' },
        { "help",      no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    options->nodes = 100;
    options->delay = 1;
    options->seed = 1;
    options->scenario = S_JOIN;
    options->max_time = 60000;
    int option;
    opterr = 0;
    while ((option = getopt_long (argc, argv, "", longs, NULL)) != -1) {
        if (option == 'h') {
            s_usage (stdout);
            return 1;
        }
        if (option == '?' || !s_parse_option (option, optarg, options)) {
            fprintf (stderr, "rumor-sim: bad option or value: %s\n",
                     argv [optind - 1]);
            s_usage (stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "rumor-sim: unexpected argument: %s\n", argv [optind]);
        s_usage (stderr);
        return 2;
    }
    if (options->nodes < 2 && options->scenario != S_JOIN) {
        fprintf (stderr, "rumor-sim: %s needs at least 2 nodes\n",
                 s_scenario_names [options->scenario]);
        return 2;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Progress of each scenario: how many nodes have reached its goal

//  partition-heal, phase 1: node lists every node of the other side DEAD
static bool
s_sees_split (s_run_t *run, size_t node)
{
    size_t size = simnet_size (run->net);
    bool side_a = node < run->split;
    for (size_t other = side_a? run->split: 0;
         other < (side_a? size: run->split); other++)
        if (!simnet_lists (run->net, node, other, RUMOR__STATE__STATE_DEAD))
            return false;
    return true;
}

//  partition-heal, phase 2, and update: node has every watched key
static bool
s_has_keys (s_run_t *run, size_t node)
{
    for (size_t i = 0; i < run->n_watches; i++)
        if (simnet_key_seen_at (run->net, run->watches [i], node) < 0)
            return false;
    return true;
}

static size_t
s_progress (s_run_t *run)
{
    simnet_t *net = run->net;
    size_t size = simnet_size (net);
    size_t count = 0;
    switch (run->options->scenario) {
        case S_JOIN:
            return simnet_count_all_alive (net);
        case S_UPDATE:
            return simnet_key_seen_count (net, run->watches [0]);
        case S_CRASH:
            return simnet_count_listing (net, run->victim,
                                         RUMOR__STATE__STATE_DEAD);
        case S_PARTITION_HEAL:
            for (size_t node = 0; node < size; node++)
                if (run->phase == 1? s_sees_split (run, node):
                    s_has_keys (run, node)
                    && simnet_lists_all_alive (net, node))
                    count++;
            return count;
    }
    return 0;
}

//  Nodes that must reach the goal
static size_t
s_goal (s_run_t *run)
{
    //  join: every node, started or not yet (staggered starts)
    if (run->options->scenario == S_JOIN)
        return run->options->nodes;
    return simnet_up_count (run->net);
}

//  Time the last event that moves a node toward the scenario's goal, so
//  the summary can give the exact time, not just the round.
static void
s_on_event (void *arg, simnet_t *net, size_t node, const char *kind,
            const ProtobufCMessage *detail, const char *extra)
{
    (void) node;
    s_run_t *run = (s_run_t *) arg;
    bool toward = false;
    if (streq (kind, "member")) {
        const Rumor__MemberUpdate *update =
            (const Rumor__MemberUpdate *) detail;
        if (update->state == RUMOR__STATE__STATE_ALIVE)
            run->last_alive = simnet_now (net);
        if (run->options->scenario == S_CRASH)
            toward = update->state == RUMOR__STATE__STATE_DEAD
                  && rumor_id_eq_bin (simnet_node_id (net, run->victim),
                                      update->id);
        else
        if (run->options->scenario == S_PARTITION_HEAL && run->phase == 1)
            toward = update->state == RUMOR__STATE__STATE_DEAD;
        else
            toward = update->state == RUMOR__STATE__STATE_ALIVE;
    }
    else
    if (streq (kind, "kv") && streq (extra, "set"))
        toward = run->options->scenario == S_UPDATE
              || run->options->scenario == S_PARTITION_HEAL;
    if (toward)
        run->last_change = simnet_now (net);
}

//  --------------------------------------------------------------------------
//  Setting each scenario up

static bool
s_all_alive (simnet_t *net, void *arg)
{
    size_t nodes = *(size_t *) arg;
    return simnet_up_count (net) == nodes && simnet_converged (net);
}

//  Form the cluster, untimed. Returns false if it did not converge. The
//  warm-up is the join scenario's trace up to its goal (same seed, same
//  calls; the checks only read), so its line gives the join's figures too:
//  one run of update or crash yields both, which halves the cost of the
//  scaling curves (tools/bench/sim_curves.sh).
static bool
s_warm_up (s_run_t *run)
{
    int64_t start = simnet_now (run->net);
    simnet_start_cluster (run->net, run->options->nodes, run->options->stagger);
    int64_t converged = simnet_run_until_cond (run->net, s_all_alive,
                                               &run->options->nodes,
                                               SIMNET_ROUND_MS, S_WARMUP_MS);
    if (converged < 0) {
        printf ("warm-up: the cluster did not form within %d s\n",
                S_WARMUP_MS / 1000);
        return false;
    }
    const simnet_stats_t *stats = simnet_stats (run->net);
    double node_seconds = run->options->nodes
                        * ((converged - start) / 1000.0);
    if (node_seconds <= 0)
        node_seconds = 1;
    printf ("warm-up: %zu nodes listed all alive after %.1f s\n",
            run->options->nodes, (converged - start) / 1000.0);
    printf ("warm-up join: rounds %" PRId64 ", goal reached after %.3f s, "
            "%.1f messages and %.0f bytes per node per second\n",
            (converged - start) / SIMNET_ROUND_MS,
            (run->last_alive - start) / 1000.0,
            stats->msgs_sent / node_seconds, stats->bytes_sent / node_seconds);
    //  Let the join storm's gossip settle so it does not count below
    //  (--settle: longer, so that every member is past the detector's
    //  first-contact grace)
    simnet_run_for (run->net, 5000 + run->options->settle);
    return true;
}

//  Start the measured window: now, just before the scenario's action, so
//  the frames the action itself sends (joins, eager pushes) are counted.
static void
s_mark (s_run_t *run)
{
    const simnet_stats_t *stats = simnet_stats (run->net);
    run->t0 = simnet_now (run->net);
    run->msgs0 = stats->msgs_sent;
    run->bytes0 = stats->bytes_sent;
    run->false_dead0 = stats->false_dead;
    run->false_suspect0 = stats->false_suspect;
    //  --clean-warm-up: the loss starts with the action
    simnet_set_loss (run->net, run->options->loss);
}

static bool
s_setup (s_run_t *run)
{
    simnet_t *net = run->net;
    size_t n = run->options->nodes;
    run->victim = n - 1;
    run->split = n / 2;
    switch (run->options->scenario) {
        case S_JOIN:
            s_mark (run);
            simnet_start_cluster (net, n, run->options->stagger);
            break;
        case S_UPDATE:
            if (!s_warm_up (run))
                return false;
            run->watches [run->n_watches++] =
                simnet_watch_key (net, n - 1, "sim.update", "v1");
            s_mark (run);
            simnet_set (net, n - 1, "sim.update", "v1", 0);
            break;
        case S_CRASH:
            if (!s_warm_up (run))
                return false;
            s_mark (run);
            simnet_crash (net, run->victim);
            break;
        case S_PARTITION_HEAL:
            if (!s_warm_up (run))
                return false;
            run->watches [run->n_watches++] =
                simnet_watch_key (net, 0, "sim.before", "a");
            run->watches [run->n_watches++] =
                simnet_watch_key (net, n - 1, "sim.before", "b");
            s_mark (run);
            simnet_set (net, 0, "sim.before", "a", 0);
            simnet_set (net, n - 1, "sim.before", "b", 0);
            simnet_split (net, run->split);
            run->phase = 1;
            break;
    }
    return true;
}

//  partition-heal: once each side sees the other dead, write on both
//  sides, heal, and go for one view.
static void
s_heal (s_run_t *run)
{
    simnet_t *net = run->net;
    size_t n = run->options->nodes;
    run->watches [run->n_watches++] =
        simnet_watch_key (net, 1 % run->split, "sim.during", "a");
    run->watches [run->n_watches++] =
        simnet_watch_key (net, n - 2 >= run->split? n - 2: n - 1,
                          "sim.during", "b");
    simnet_set (net, 1 % run->split, "sim.during", "a", 0);
    simnet_set (net, n - 2 >= run->split? n - 2: n - 1, "sim.during", "b", 0);
    simnet_heal (net);
    run->phase = 2;
    run->healed_at = simnet_now (net);
}

//  --------------------------------------------------------------------------
//  Running and reporting

static void
s_report_round (s_run_t *run, int round, size_t done, size_t goal)
{
    const simnet_stats_t *stats = simnet_stats (run->net);
    double at = (simnet_now (run->net) - run->t0) / 1000.0;
    const char *phase = run->phase == 1? " split":
                        run->phase == 2? " healed": "";
    if (!run->options->quiet)
        printf ("round %4d  t=%7.1f s  %s%s %zu/%zu  msgs %" PRIu64
                "  bytes %" PRIu64 "\n", round, at,
                s_scenario_names [run->options->scenario], phase, done, goal,
                stats->msgs_sent - run->msgs0, stats->bytes_sent - run->bytes0);
    if (run->csv)
        fprintf (run->csv, "%d,%" PRId64 ",%d,%zu,%zu,%" PRIu64 ",%" PRIu64
                 ",%" PRIu64 "\n", round, simnet_now (run->net) - run->t0,
                 run->phase, done, goal, stats->msgs_sent - run->msgs0,
                 stats->bytes_sent - run->bytes0, stats->false_dead);
}

//  Run rounds until the goal is reached or time is up; returns the time
//  the goal was reached at, or -1.
static int64_t
s_run_rounds (s_run_t *run, int *round)
{
    int64_t start = simnet_now (run->net);
    while (simnet_now (run->net) - start < run->options->max_time) {
        simnet_run_for (run->net, SIMNET_ROUND_MS);
        ++*round;
        size_t done = s_progress (run);
        size_t goal = s_goal (run);
        s_report_round (run, *round, done, goal);
        if (done == goal)
            return simnet_now (run->net);
    }
    return -1;
}

static void
s_summary (s_run_t *run, int64_t converged, int rounds, double real)
{
    simnet_t *net = run->net;
    const simnet_stats_t *stats = simnet_stats (net);
    int64_t window = simnet_now (net) - run->t0;
    double node_seconds = (double) run->options->nodes * (window / 1000.0);
    if (node_seconds <= 0)
        node_seconds = 1;
    printf ("converged: %s\n", converged >= 0? "yes": "no");
    printf ("rounds: %d\n", rounds);
    printf ("virtual time: %.3f s\n", window / 1000.0);
    if (converged >= 0 && run->goal_at >= run->t0)
        printf ("goal reached after: %.3f s\n",
                (run->goal_at - run->t0) / 1000.0);
    if (run->options->scenario == S_PARTITION_HEAL && run->healed_at)
        printf ("healed after: %.3f s, one view %.3f s later\n",
                (run->healed_at - run->t0) / 1000.0,
                converged >= 0? (converged - run->healed_at) / 1000.0: -1.0);
    printf ("messages per node per second: %.1f\n",
            (stats->msgs_sent - run->msgs0) / node_seconds);
    printf ("bytes per node per second: %.0f\n",
            (stats->bytes_sent - run->bytes0) / node_seconds);
    printf ("lost: %" PRIu64 ", partitioned: %" PRIu64 ", refused: %" PRIu64
            ", rejected by cores: %" PRIu64 "\n", stats->lost,
            stats->partitioned, stats->refused, stats->rejected);
    printf ("false verdicts: %" PRIu64 " dead, %" PRIu64 " suspect\n",
            stats->false_dead, stats->false_suspect);
    printf ("false verdicts since the action: %" PRIu64 " dead, %" PRIu64
            " suspect\n", stats->false_dead - run->false_dead0,
            stats->false_suspect - run->false_suspect0);
    printf ("trace hash: %016" PRIx64 "\n", simnet_trace_hash (net));
    //  Its own line, the only one that differs between identical runs
    printf ("real time: %.3f s\n", real);
}

static double
s_seconds (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return now.tv_sec + now.tv_nsec / 1e9;
}

static simnet_t *
s_network (const s_options_t *options)
{
    simnet_cfg_t cfg;
    simnet_cfg_defaults (&cfg);
    cfg.size = options->nodes;
    cfg.seed = options->seed;
    //  --clean-warm-up: s_mark sets the loss when the action starts
    cfg.loss = options->clean_warm_up? 0: options->loss;
    cfg.delay_ms = options->delay;
    cfg.jitter_ms = options->jitter;
    cfg.fast_path = options->fast_path;
    cfg.beacon_ms = options->beacon;
    cfg.rto_ms = options->rto;
    return simnet_new (&cfg);
}

int
main (int argc, char *argv [])
{
    s_options_t options = { 0 };
    int rc = s_parse_options (argc, argv, &options);
    if (rc)
        return rc == 1? 0: rc;
    double started = s_seconds ();
    s_run_t run = { .options = &options };
    run.net = s_network (&options);
    assert (run.net);
    if (options.csv) {
        run.csv = fopen (options.csv, "w");
        if (!run.csv) {
            fprintf (stderr, "rumor-sim: cannot write %s\n", options.csv);
            simnet_destroy (&run.net);
            return 2;
        }
        fprintf (run.csv,
                 "round,time_ms,phase,done,goal,msgs,bytes,false_dead\n");
    }
    printf ("rumor-sim: scenario %s, %zu nodes, loss %.3f%s, delay %" PRId64
            "+%" PRId64 " ms, seed %" PRIu64 ", %s\n",
            s_scenario_names [options.scenario], options.nodes, options.loss,
            options.rto? " (retransmitted)": "", options.delay,
            options.jitter, options.seed,
            options.beacon? "beacons": "seeds only");
    int64_t converged = -1;
    int rounds = 0;
    simnet_on_event (run.net, s_on_event, &run);
    bool ready = s_setup (&run);
    if (!ready)
        s_mark (&run);
    if (ready) {
        converged = s_run_rounds (&run, &rounds);
        if (converged >= 0 && options.scenario == S_PARTITION_HEAL) {
            s_heal (&run);
            converged = s_run_rounds (&run, &rounds);
        }
        run.goal_at = run.last_change;
        if (converged >= 0 && options.linger)
            simnet_run_for (run.net, options.linger);
    }
    s_summary (&run, converged, rounds, s_seconds () - started);
    //  A live node declared dead is a failure, except across a partition
    //  (SWIM lets the other side's stale verdicts through until refuted)
    bool ok = converged >= 0
           && (options.scenario == S_PARTITION_HEAL
               || simnet_stats (run.net)->false_dead == 0);
    if (run.csv)
        fclose (run.csv);
    simnet_destroy (&run.net);
    return ok? 0: 1;
}
