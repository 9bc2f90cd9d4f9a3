using InfraRelocation.Core.Gates;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>Invoke-RelocationParity: D35 cross-file parity and D37 placement (capability infra.relocation.parity).</summary>
[Cmdlet(VerbsLifecycle.Invoke, "RelocationParity")]
[OutputType(typeof(RelocationFinding), typeof(GateReceipt), typeof(int))]
public sealed class InvokeRelocationParityCommand : GateCmdlet
{
    protected override string Capability => "infra.relocation.parity";

    protected override IReadOnlyList<GateResult> Evaluate(EstateSnapshot estate) =>
        [ParityGate.Evaluate(estate), PlacementGate.Evaluate(estate)];
}
