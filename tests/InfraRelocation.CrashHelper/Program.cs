using InfraRelocation;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Remote;
using InfraRelocation.Core.Ssh;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Model;
using InfraRelocation.Receipts;

// Modes (exit 0 = success, 3 = RelocationException with its ErrorId on stdout, 2 = usage):
//   atomic <path> <bytes>                      rewrite <path> forever, alternating two contents of <bytes> bytes
//   hold <root> <ms>                           acquire the lease, print "acquired", hold it <ms>, release
//   edit <root> <file> <path> <value> <expected|-> <holdMs> <waitMs>
//                                              lease → transaction → edit → sleep holdMs → commit
//   inc <root> <file> <times>                  increment `counter` <times> times, one transaction each
//   crash <root> <file1> <file2> <file3>       edit three files, die (exit 137, no cleanup) before writing the 2nd
//   receipt <root> <receipts> <file> <before|after>
//                                              commit `status: receipted` with its receipt; print "at <phase>" and hang
//                                              before / after the receipt is appended (the test kills it with SIGKILL)
//   cycle <root> <seed>                        the transitions of the mutating cmdlets on a sample-estate copy, in a
//                                              random order, forever (until killed): preview, commit, receipt, as
//                                              TransitionCmdlet runs them; prints "begin <op>", "committed <txid>",
//                                              "receipted <txid>" around each
//   mesh <port> <user> <keyfile> <hostkey> <path>
//                                              the planned mesh join of a VM on 127.0.0.1:<port> (PATH=<path> on the
//                                              VM), the auth key the first line on stdin; prints "ready", then runs it;
//                                              a line "cancel" on stdin then cancels it as Ctrl+C does (prints
//                                              "cancelled"); the test kills it with SIGKILL for the other interruption
try
{
    switch (args.FirstOrDefault())
    {
        case "atomic":
        {
            var size = int.Parse(args[2]);
            var contents = new[] { Content('A', size), Content('B', size) };
            for (var i = 0; ; i++)
            {
                AtomicFile.Write(args[1], contents[i % 2]);
                if (i == 0)
                {
                    Console.WriteLine("ready");
                    Console.Out.Flush();
                }
            }
        }
        case "hold-until-stdin-closes":
        {
            // Holds the lease for as long as the test wants, however slow the machine: no timing in the test.
            using var lease = EstateLease.Acquire(args[1], "hold", TimeSpan.FromSeconds(30));
            Console.WriteLine("acquired");
            Console.Out.Flush();
            while (Console.In.ReadLine() is not null) { }
            return 0;
        }
        case "hold":
        {
            using var lease = EstateLease.Acquire(args[1], "hold", TimeSpan.FromSeconds(30));
            Console.WriteLine("acquired");
            Console.Out.Flush();
            Thread.Sleep(int.Parse(args[2]));
            return 0;
        }
        case "edit":
        {
            using var lease = EstateLease.Acquire(args[1], "edit " + args[3], TimeSpan.FromMilliseconds(int.Parse(args[7])));
            using var tx = EstateTransaction.Begin(lease);
            tx.EditYaml(args[2], [YamlEdit.Set(args[3], args[4], args[5] == "-" ? null : args[5])]);
            Console.WriteLine("staged");
            Console.Out.Flush();
            Thread.Sleep(int.Parse(args[6]));
            tx.Commit();
            Console.WriteLine("committed");
            return 0;
        }
        case "crash":
        {
            var lease = EstateLease.Acquire(args[1], "crash", TimeSpan.FromSeconds(10));
            var tx = EstateTransaction.Begin(lease);
            for (var i = 2; i <= 4; i++)
            {
                tx.EditYaml(args[i], [YamlEdit.Set("status", "crashed-" + i)]);
            }
            var writes = 0;
            tx.BeforeFileWrite = _ =>
            {
                if (++writes == 2)
                {
                    Environment.Exit(137);
                }
            };
            tx.Commit();
            return 0;
        }
        case "receipt":
        {
            var lease = EstateLease.Acquire(args[1], "receipt", TimeSpan.FromSeconds(10));
            var tx = EstateTransaction.Begin(lease);
            tx.EditYaml(args[3], [YamlEdit.Set("status", "receipted")]);
            void Hang()
            {
                Console.WriteLine("at " + args[4]);
                Console.Out.Flush();
                Thread.Sleep(Timeout.Infinite);
            }
            if (args[4] == "before")
            {
                tx.BeforeReceiptAppend = Hang;
            }
            else
            {
                tx.AfterReceiptAppend = Hang;
            }
            tx.Commit(new CommitReceipt
            {
                Store = new InfraRelocation.Core.Receipts.ReceiptStore(args[2]),
                Build = (outcome, _) => new InfraRelocation.Receipts.ServiceStatusReceipt
                {
                    Capability = "infra.relocation.service.transition", Mode = InfraRelocation.Receipts.RunMode.Execute,
                    Outcome = InfraRelocation.Receipts.ReceiptOutcome.Succeeded, TransactionId = outcome.TransactionId,
                    Files = outcome.Files.Select(f => new InfraRelocation.Receipts.WrittenFile { Path = f.Path, OldSha256 = f.OldSha256, NewSha256 = f.NewSha256 }).ToList(),
                    EndedUtc = DateTimeOffset.UtcNow,
                },
            });
            return 0;
        }
        case "inc":
        {
            // Read-modify-write of `counter` <times> times, each under its own lease + transaction.
            for (var i = 0; i < int.Parse(args[3]); i++)
            {
                // A generous wait: on a loaded CI machine four processes queueing 40 fsync-ed commits can be slow.
                using var lease = EstateLease.Acquire(args[1], "inc", TimeSpan.FromMinutes(5));
                using var tx = EstateTransaction.Begin(lease);
                var current = YamlScalarEditor.ReadScalar(tx.Read(args[2])!, "counter", args[2])!;
                tx.EditYaml(args[2], [YamlEdit.SetLiteral("counter", (int.Parse(current) + 1).ToString(), expected: current)]);
                tx.Commit();
            }
            return 0;
        }
        case "cycle":
            return Cycle(args[1], int.Parse(args[2]));
        case "mesh":
            return Mesh(int.Parse(args[1]), args[2], args[3], args[4], args[5]);
        default:
            Console.Error.WriteLine("usage: atomic|hold|edit|crash|cycle ...");
            return 2;
    }
}
catch (RelocationException ex)
{
    Console.WriteLine(ex.ErrorId);
    Console.Error.WriteLine(ex.LocatedMessage);
    return 3;
}

static byte[] Content(char fill, int size)
{
    var bytes = new byte[size];
    Array.Fill(bytes, (byte)fill);
    return bytes;
}

// The sequence TransitionCmdlet runs for Set-RelocationServiceStatus, Set-RelocationVmTarget, Set-RelocationState and
// Invoke-RelocationPromotion (whose failed post-write check reverts the write), over the same Core calls.
static int Cycle(string root, int seed)
{
    var random = new Random(seed);
    var layout = EstateLayoutLoader.Load(root);
    var store = new ReceiptStore(layout.ReceiptsPath);
    _ = TransitionExecutor.Preview(layout, e => TransitionPlanner.PlanVmTarget(e, new VmTargetRequest("files-core"), new TransitionEnvironment()));
    Console.WriteLine("ready"); // warmed up (JIT, first load), so the kills land on transitions, not on start-up
    Console.Out.Flush();
    for (var i = 0; ; i++)
    {
        var env = new TransitionEnvironment { Now = DateTimeOffset.UtcNow, Actor = "crash-test", Ledger = LedgerView.Load(store.LedgerPath) };
        var current = EstateLoader.Load(layout);
        var service = random.Next(2) == 0 ? "bookmarks" : "rss-reader";
        var status = current.Manifest!.Services.First(s => s.Service == service).Status;
        var serviceTarget = status == ServiceStatus.Planned ? ServiceStatus.Shadow : ServiceStatus.Planned;
        var vm = random.Next(2) == 0 ? "files-core" : "ci-runner";
        var (op, capability, planner, afterCommit) = random.Next(4) switch
        {
            0 => ($"Set-RelocationServiceStatus {service} {serviceTarget}", "infra.relocation.service.transition",
                (Func<EstateSnapshot, TransitionPlan>)(e => TransitionPlanner.PlanService(e, new ServiceTransitionRequest(service, serviceTarget), env)),
                (Func<EstateSnapshot, string?>?)null),
            1 => ($"Set-RelocationVmTarget {vm}", "infra.relocation.vm.target",
                e => TransitionPlanner.PlanVmTarget(e, new VmTargetRequest(vm) { Address = $"192.0.2.{random.Next(1, 250)}" }, env), null),
            2 => ("Set-RelocationState planning/preflight", "infra.relocation.state.transition",
                e => TransitionPlanner.PlanState(e, current.Manifest.ActiveRelocation!.State == RelocationState.Preflight
                    ? new StateTransitionRequest(RelocationState.Planning) { Rollback = true }
                    : new StateTransitionRequest(RelocationState.Preflight), env), null),
            _ => ($"Invoke-RelocationPromotion-like {service} {serviceTarget} (reverted)", "infra.relocation.promote",
                e => TransitionPlanner.PlanService(e, new ServiceTransitionRequest(service, serviceTarget), env),
                _ => "post-write parity failed (crash test)"),
        };
        Console.WriteLine($"begin {op}");
        TransitionRun preview;
        try
        {
            preview = TransitionExecutor.Preview(layout, planner);
        }
        catch (RelocationException)
        {
            continue; // refused before any decision: nothing to write
        }
        if (preview.Plan.Blocked || preview.Plan.NoOp)
        {
            continue;
        }
        var runId = $"crash-{seed}-{i}";
        var run = TransitionExecutor.Commit(layout, preview.Plan, planner,
            new TransitionCommitOptions
            {
                Purpose = op, LeaseWait = TimeSpan.FromSeconds(30), AfterCommit = afterCommit, Now = DateTimeOffset.UtcNow,
                // The receipt is part of the transaction, as TransitionCmdlet records it (issue 16.1).
                Receipts = store,
                Receipt = r => new TransitionReceipt
                {
                    Capability = capability,
                    Command = op,
                    RunId = runId,
                    Mode = RunMode.Execute,
                    Outcome = r.Reverted ? ReceiptOutcome.Reverted : ReceiptOutcome.Succeeded,
                    Summary = r.Plan.Summary,
                    Subject = r.Plan.Subject,
                    TransactionId = r.Outcome?.TransactionId,
                    Files = r.Outcome?.Files.Select(f => new WrittenFile { Path = f.Path, OldSha256 = f.OldSha256, NewSha256 = f.NewSha256 }).ToList() ?? [],
                },
            });
        var txid = run.Outcome is { Files.Count: > 0 } o ? o.TransactionId : "-";
        Console.WriteLine($"committed {txid}");
        Console.WriteLine($"receipted {txid}");
    }
}

// The bootstrap's mesh steps as the planner makes them (secret cleanup, then `tailscale up` with the key on stdin),
// run through the real executor and SSH pool; only PATH differs, so the VM's `tailscale` is the test's.
static int Mesh(int port, string user, string keyFile, string hostKey, string path)
{
    var profile = new VmProfile { Name = "mesh", Bootstrap = new BootstrapSettings { PackageManager = "none", RequireTailscaleConnected = true } };
    var steps = BootstrapPlanner.Plan(profile, "vm")
        .Where(s => s.Name.StartsWith("mesh:", StringComparison.Ordinal))
        .Select(s => s with
        {
            Check = $"PATH={path}:$PATH; {s.Check}",
            Run = s.Run is null ? null : $"PATH={path}:$PATH; {s.Run}",
            AppliesCheck = s.AppliesCheck is null ? null : $"PATH={path}:$PATH; {s.AppliesCheck}",
        }).ToList();
    var endpoint = new SshEndpoint("vm", "127.0.0.1", user, port) { PrivateKeyFiles = [keyFile], PinnedHostKeys = [hostKey] };
    var key = new SshSecret(Console.ReadLine() ?? throw new InvalidOperationException("no auth key on stdin"));
    using var cancel = new CancellationTokenSource();
    using var pool = new SshSessionPool();
    Console.WriteLine("ready");
    Console.Out.Flush();
    _ = Task.Run(() =>
    {
        if (Console.ReadLine() == "cancel") cancel.Cancel();
    });
    try
    {
        var rows = new BootstrapExecutor(pool).RunAsync(endpoint, "vm", steps, key,
            cancellationToken: cancel.Token).GetAwaiter().GetResult();
        Console.WriteLine(string.Join("; ", rows.Select(r => $"{r.Step} {r.State}: {r.Evidence}")));
    }
    catch (OperationCanceledException)
    {
        Console.WriteLine("cancelled");
    }
    return 0;
}
