using InfraRelocation.Commands.Completers;
using InfraRelocation.Core.Gates;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>Get-RelocationRollbackPlan: the deterministic rollback checklist (capability infra.relocation.rollback.plan).</summary>
[Cmdlet(VerbsCommon.Get, "RelocationRollbackPlan")]
[OutputType(typeof(RollbackStep), typeof(RollbackPlanReceipt))]
public sealed class GetRelocationRollbackPlanCommand : EstateCmdlet
{
    /// <summary>Only these services; binds from the pipeline (names, or the manifest's service objects by property name).</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ServiceCompleter))]
    public string[]? Service { get; set; }

    private readonly List<string> _services = [];

    protected override void ProcessRecord() => _services.AddRange(Service ?? []);

    protected override void EndProcessing()
    {
        var estate = Run(() => EstateLoader.Load(Layout));
        var run = BeginRun("infra.relocation.rollback.plan", RunMode.Read);
        run.RecordInputs(estate.InputDigests);
        var plan = _services.Count == 0
            ? Run(() => RollbackPlanner.Plan(estate, null))
            : Combine(_services.Distinct(StringComparer.Ordinal).Select(s => Run(() => RollbackPlanner.Plan(estate, s))).ToList());
        foreach (var error in plan.Errors)
        {
            WriteRelocationError(new RelocationException(error.RuleId,
                error.RuleId == "ServiceNotFound" ? FailureKind.ObjectNotFound : FailureKind.InvalidData,
                error.Message, error.Location, error.Subject) { Findings = [error] });
        }
        foreach (var step in plan.Steps)
        {
            WriteObject(step);
        }
        EmitReceipt(run, new RollbackPlanReceipt
        {
            Steps = plan.Steps,
            Findings = plan.Errors,
            ChangeId = plan.ChangeId,
            State = plan.State,
            MaxRollbackWindowHours = plan.MaxRollbackWindowHours,
            RequiresBackupVerification = plan.RequiresBackupVerification,
            Outcome = plan.Errors.Count == 0 ? ReceiptOutcome.Passed : ReceiptOutcome.Failed,
            Summary = $"{plan.Steps.Select(s => s.Service).Distinct().Count()} service(s), {plan.Steps.Count} step(s), {plan.Errors.Count} error(s)",
        });
    }

    // The plans of several services as one checklist, numbered again from 1 in the order the services came.
    private static RollbackPlan Combine(IReadOnlyList<RollbackPlan> plans)
    {
        var order = 0;
        return plans[0] with
        {
            Steps = plans.SelectMany(p => p.Steps).Select(step => step with { Order = ++order }).ToList(),
            Errors = plans.SelectMany(p => p.Errors).ToList(),
        };
    }
}
