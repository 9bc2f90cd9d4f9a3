using System.Management.Automation;
using InfraRelocation.Commands.Base;
using InfraRelocation.Core.Gates;
using InfraRelocation.Gates;
using InfraRelocation.Receipts;
using EstateModel = InfraRelocation.Core.Estate.Estate;

namespace InfraRelocation.Commands.Commands;

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

    protected override string Capability => "infra.hypervisor.identity";

    protected override IReadOnlyList<GateResult> Evaluate(EstateModel estate) =>
    [
        HypervisorIdentityGate.Evaluate(estate, new GateOptions
        {
            HypervisorIds = HypervisorId,
            AllowHostnameAlias = AllowHostnameAlias,
            Observations = Observation?.GroupBy(o => o.HostId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal),
        }),
    ];
}
