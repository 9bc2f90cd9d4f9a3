using InfraRelocation.Core.Concurrency;
using InfraRelocation.Core.Gates;
using InfraRelocation.Core.Remote;
using InfraRelocation.Core.Ssh;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>Test-HypervisorIdentity: hypervisor hostnames and machine ids unique and equal to the pinned ones.</summary>
[Cmdlet(VerbsDiagnostic.Test, "HypervisorIdentity")]
[OutputType(typeof(RelocationFinding), typeof(GateReceipt), typeof(int))]
public sealed class TestHypervisorIdentityCommand : GateCmdlet
{
    /// <summary>Check only these hypervisor ids (placement-policy hosts of kind proxmox).</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string[]? HypervisorId { get; set; }

    /// <summary>A reported hostname different from the expected one is a warning, not an error.</summary>
    [Parameter]
    public SwitchParameter AllowHostnameAlias { get; set; }

    /// <summary>What the hypervisors report (hostname, machine-id per host id), e.g. from a live probe.</summary>
    [Parameter]
    public HypervisorObservation[]? Observation { get; set; }

    /// <summary>Probe every hypervisor over SSH (bounded parallel) and check what they report; unreachable hosts are findings.</summary>
    [Parameter]
    public SwitchParameter Live { get; set; }

    /// <summary>With -Live: how many hypervisors are probed at once.</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = BoundedParallel.DefaultParallelism;

    /// <summary>With -Live: private key used when neither the ssh target nor ssh.defaults names one.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IdentityFile { get; set; }

    /// <summary>With -Live: seconds to wait for each SSH connection and probe.</summary>
    [Parameter]
    [ValidateRange(0.1, 3600)]
    public double Timeout { get; set; } = 10;

    protected override string Capability => "infra.hypervisor.identity";

    protected override IReadOnlyList<GateResult> Evaluate(EstateSnapshot estate)
    {
        IEnumerable<HypervisorObservation>? observed = Observation;
        if (Live)
        {
            if (Observation is not null)
                throw new RelocationException("LiveWithObservation", FailureKind.InvalidArgument, "Use either -Live or -Observation, not both.");
            observed = ProbeLive(estate);
        }
        return
        [
            HypervisorIdentityGate.Evaluate(estate, new GateOptions
            {
                HypervisorIds = HypervisorId,
                AllowHostnameAlias = AllowHostnameAlias,
                Observations = observed?.GroupBy(o => o.HostId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal),
            }),
        ];
    }

    // Runs the probes on the thread pool; only this (the pipeline) thread writes progress and verbose lines.
    private IReadOnlyList<HypervisorObservation> ProbeLive(EstateSnapshot estate)
    {
        var ssh = new SshResolveOptions
        {
            IdentityFile = IdentityFile is null ? null : ResolvePath(IdentityFile),
            ConnectTimeout = TimeSpan.FromSeconds(Timeout),
            CommandTimeout = TimeSpan.FromSeconds(Math.Max(Timeout, 15)),
        };
        using var pump = new PipelinePump(this);
        using var pool = new SshSessionPool { Log = pump.Verbose };
        var task = pump.Run("Hypervisor identity", (progress, ct) => LiveIdentity.ObserveAsync(pool, estate, HypervisorId, ssh, ThrottleLimit, progress, ct), CancelToken);
        return task.GetAwaiter().GetResult();
    }
}
