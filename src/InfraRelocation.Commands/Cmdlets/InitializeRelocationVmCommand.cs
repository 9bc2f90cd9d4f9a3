using System.Management.Automation;
using System.Security;
using System.Text;
using InfraRelocation.Commands.Base;
using InfraRelocation.Commands.Completers;
using InfraRelocation.Core.Concurrency;
using InfraRelocation.Core.Remote;
using InfraRelocation.Core.Ssh;
using InfraRelocation.Receipts;
using InfraRelocation.Remote;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>
/// Initialize-RelocationVm: brings a VM to its profile's baseline over SSH (packages, services, running checks,
/// mesh join, cron hooks, the profile's own steps); every step checks before it acts (capability infra.vm.bootstrap).
/// With -ThrottleLimit above 1, the VMs piped in are bootstrapped together once the input ends, up to that many at once.
/// </summary>
[Cmdlet(VerbsData.Initialize, "RelocationVm", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(BootstrapStepResult), typeof(BootstrapReceipt))]
public sealed class InitializeRelocationVmCommand : RemoteCmdlet
{
    /// <summary>The VM's hostname (its vm_targets hostname and ssh.targets id); piped names and VM targets bind here.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(HostnameCompleter))]
    public string Hostname { get; set; } = "";

    /// <summary>The VM profile to apply; defaults to the VM target's profile in the manifest.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    [AllowEmptyString]
    [ArgumentCompleter(typeof(ProfileCompleter))]
    public string? Profile { get; set; }

    /// <summary>The mesh (Tailscale) auth key; else the environment variable named by the profile's tailscale_auth_secret_key.</summary>
    [Parameter]
    public SecureString? AuthKey { get; set; }

    /// <summary>Seconds each remote command may run (package installs can be slow).</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public double CommandTimeout { get; set; } = 600;

    /// <summary>How many VMs (piped in) are bootstrapped at once; 1 (the default) bootstraps each as it arrives.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = 1;

    private Core.Estate.EstateSnapshot? _estate;
    private readonly List<Bootstrap> _pending = [];

    // One VM's bootstrap, planned and confirmed on the pipeline thread, run on a worker.
    private sealed record Bootstrap(Core.Receipts.RunContext Run, string Hostname, string Profile, SshEndpoint Endpoint,
        IReadOnlyList<BootstrapStep> Steps, SshSecret? Key)
    {
        /// <summary>The receipt journaled before the run (<see cref="RelocationCmdlet.JournalHostChange"/>).</summary>
        public string Journal { get; init; } = "";
    }

    protected override void ProcessRecord()
    {
        _estate ??= LoadEstate();
        var estate = _estate;
        var run = BeginRun("infra.vm.bootstrap", RunMode.Execute);
        run.RecordInputs(estate.InputDigests);
        var target = Run(() => ReadinessChecker.ResolveTarget(estate, Hostname, string.IsNullOrWhiteSpace(Profile) ? null : Profile, null));
        if (HostChangeRefusal(estate, $"bootstrapping {Hostname}") is { } refusal)
        {
            if (!Core.Governance.MutationGuard.IsUnreadableEstate(refusal))
            {
                EmitReceipt(run, new BootstrapReceipt
                {
                    Hostname = Hostname, Profile = target.Profile, Outcome = ReceiptOutcome.Blocked, Findings = refusal.Findings,
                    Summary = $"{Hostname}: refused by the gates ({refusal.Findings.Count} error(s)); nothing ran",
                });
            }
            Fail(refusal);
            return;
        }
        var profile = estate.Profiles!.Profiles[target.Profile];
        var resolver = new SshEndpointResolver(estate.SshTargets, estate.Layout.Root, SshOptions(TimeSpan.FromSeconds(CommandTimeout)));
        var endpoint = resolver.TryResolve(Hostname, out var whyNot);
        var steps = Run(() => BootstrapPlanner.Plan(profile, Hostname, endpoint?.User ?? "root"));

        var description = new StringBuilder($"Bootstrap {Hostname} with profile {target.Profile} over SSH {(endpoint is null ? $"(no endpoint: {whyNot})" : PreflightRunner.Address(endpoint))}: {steps.Count} step(s)");
        foreach (var s in steps)
        {
            description.Append(Environment.NewLine).Append("  ").Append(s.Name).Append(": ");
            if (s.SkipReason is not null) description.Append("skipped (").Append(s.SkipReason).Append(')');
            else description.Append("check `").Append(s.Check).Append('`').Append(s.Run is null ? " (verify only)" : $"; if not done run `{s.Run}`");
        }
        if (!ShouldProcess(description.ToString(), $"Bootstrap {Hostname} ({steps.Count} step(s))?", "Initialize-RelocationVm"))
        {
            var preview = BootstrapExecutor.Preview(Hostname, steps);
            foreach (var row in preview) WriteObject(row);
            run.Mode = RunMode.Preview;
            EmitReceipt(run, new BootstrapReceipt
            {
                Hostname = Hostname, Profile = target.Profile, Steps = preview, Outcome = ReceiptOutcome.Previewed,
                Summary = $"{Hostname} ({target.Profile}): preview of {steps.Count} step(s); nothing ran",
            });
            return;
        }
        if (endpoint is null)
        {
            Fail("SshTargetMissing", FailureKind.ObjectNotFound, $"Cannot bootstrap {Hostname}: {whyNot}.", Hostname);
            return;
        }

        SshSecret? key = null;
        if (steps.Any(s => s.NeedsSecret && s.SkipReason is null))
        {
            var name = profile.Bootstrap.TailscaleAuthSecretKey;
            var plain = AuthKey is not null ? SecretVault.Plain(AuthKey)
                : name is { Length: > 0 } ? Environment.GetEnvironmentVariable(name) ?? SecretVault.ReadPlain(this, name) : null;
            if (!string.IsNullOrEmpty(plain)) key = new SshSecret(plain);
            else WriteVerbose("No mesh auth key given: the mesh step can only pass if the VM is already connected.");
        }

        // Journaled before anything is sent: the receipt this VM's run leaves if the process dies (issue 16.1).
        var journal = JournalHostChange(run, new BootstrapReceipt
        {
            Hostname = Hostname, Profile = target.Profile,
            Summary = $"{Hostname} ({target.Profile}): interrupted while bootstrapping ({steps.Count} step(s)); its result is unknown. Run Initialize-RelocationVm again: finished steps are checked and skipped.",
        });
        _pending.Add(new Bootstrap(run, Hostname, target.Profile, endpoint, steps, key) { Journal = journal });
        if (ThrottleLimit == 1) RunPending();
    }

    protected override void EndProcessing()
    {
        RunPending();
        base.EndProcessing();
    }

    // Runs the queued bootstraps, ThrottleLimit at a time (each VM's steps stay in order on its own connection);
    // rows stream as steps finish, errors and receipts follow in input order on the pipeline thread.
    private void RunPending()
    {
        if (_pending.Count == 0) return;
        var jobs = _pending.ToList();
        _pending.Clear();
        var label = jobs.Count == 1 ? $"Bootstrap {jobs[0].Hostname}" : $"Bootstrap of {jobs.Count} VMs";
        var total = jobs.Sum(j => j.Steps.Count);
        var results = Pump(label, (progress, ct) =>
        {
            var finished = 0;
            return BoundedParallel.ForEachAsync(jobs, (job, token) =>
                new BootstrapExecutor(Pool).RunAsync(job.Endpoint, job.Hostname, job.Steps, job.Key, row =>
                {
                    Post(row);
                    progress(new FanOutProgress(label, $"{job.Hostname}: {row.Step}", Interlocked.Increment(ref finished), total));
                }, token), ThrottleLimit, ct);
        });
        foreach (var r in results)
        {
            if (r.Error is { } error)
            {
                var failure = error as RelocationException ?? new RelocationException("UnexpectedFailure", FailureKind.InvalidOperation,
                    $"Bootstrap of {r.Item.Hostname} failed: {error.Message}", target: r.Item.Hostname, inner: error);
                WriteRelocationError(failure);
                // steps may have run before the failure: the journaled receipt is replaced by the failure's
                RecordHostChange(r.Item.Run, new BootstrapReceipt
                {
                    Hostname = r.Item.Hostname, Profile = r.Item.Profile, Outcome = ReceiptOutcome.Failed,
                    Summary = $"{r.Item.Hostname} ({r.Item.Profile}): {failure.Message.Split('\n')[0]}",
                }, r.Item.Journal);
                continue;
            }
            Finish(r.Item, r.Value!);
        }
    }

    private void Finish(Bootstrap job, IReadOnlyList<BootstrapStepResult> results)
    {
        var (run, host) = (job.Run, job.Hostname);
        var failed = results.Where(r => r.State == BootstrapStepState.Failed).ToList();
        foreach (var f in failed)
        {
            WriteRelocationError(new RelocationException("BootstrapStepFailed", FailureKind.InvalidOperation,
                $"{host}: step {f.Step} failed: {f.Evidence}. Re-run to resume: finished steps are checked and skipped.", target: host));
        }
        var doneCount = results.Count(r => r.State == BootstrapStepState.Done);
        EmitHostChangeReceipt(run, new BootstrapReceipt
        {
            Hostname = host,
            Profile = job.Profile,
            Steps = results,
            Findings = failed.Select(f => RelocationFinding.Error("BOOTSTRAP.StepFailed", $"{host}: {f.Step}: {f.Evidence}", null, null, host)).ToList(),
            Outcome = failed.Count > 0 ? ReceiptOutcome.Failed : doneCount > 0 ? ReceiptOutcome.Succeeded : ReceiptOutcome.Unchanged,
            Summary = $"{host} ({job.Profile}): {doneCount} done, {results.Count(r => r.State == BootstrapStepState.Unchanged)} unchanged, " +
                      $"{failed.Count} failed, {results.Count(r => r.State == BootstrapStepState.NotRun)} not run, {results.Count(r => r.State == BootstrapStepState.Skipped)} skipped, " +
                      $"{results.Count(r => r.State == BootstrapStepState.NotApplicable)} not applicable",
        }, job.Journal);
    }
}
