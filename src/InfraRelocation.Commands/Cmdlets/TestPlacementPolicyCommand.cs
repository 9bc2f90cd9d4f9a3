using InfraRelocation.Core.Gates;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>Test-PlacementPolicy: D37 placement policy (capability infra.placement.policy).</summary>
[Cmdlet(VerbsDiagnostic.Test, "PlacementPolicy")]
[OutputType(typeof(RelocationFinding), typeof(GateReceipt), typeof(int))]
public sealed class TestPlacementPolicyCommand : GateCmdlet
{
    protected override string Capability => "infra.placement.policy";

    protected override IReadOnlyList<GateResult> Evaluate(EstateSnapshot estate) => [PlacementGate.Evaluate(estate)];
}
