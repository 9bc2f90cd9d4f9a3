using System.Management.Automation;
using InfraRelocation.Commands.Base;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Gates;
using InfraRelocation.Gates;
using InfraRelocation.Receipts;

namespace InfraRelocation.Commands.Commands;

/// <summary>Get-RelocationImpact: the delta matrix, which file must say what for each service (capability infra.relocation.impact).</summary>
[Cmdlet(VerbsCommon.Get, "RelocationImpact")]
[OutputType(typeof(ImpactItem), typeof(ImpactReceipt))]
public sealed class GetRelocationImpactCommand : EstateCmdlet
{
    /// <summary>Only this service.</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string? Service { get; set; }

    /// <summary>Also planned services: what must change before they move.</summary>
    [Parameter]
    public SwitchParameter IncludePlanned { get; set; }

    /// <summary>Only the items that still need a change.</summary>
    [Parameter]
    public SwitchParameter Pending { get; set; }

    protected override void EndProcessing()
    {
        var estate = Run(() => EstateLoader.Load(Layout));
        var run = BeginRun("infra.relocation.impact", RunMode.Read);
        run.RecordInputs(estate.InputDigests);
        var items = ImpactAnalyzer.Analyze(estate, IncludePlanned || Service is not null, Service)
            .Where(i => !Pending || !i.Satisfied).ToList();
        if (Service is not null && estate.Manifest?.Services.Any(s => s.Service == Service) != true)
        {
            WriteRelocationError(new RelocationException("ServiceNotFound", FailureKind.ObjectNotFound,
                $"The manifest has no service {Service}.", estate.Manifest?.Location, Service));
        }
        foreach (var item in items)
        {
            WriteObject(item);
        }
        var pending = items.Count(i => !i.Satisfied);
        EmitReceipt(run, new ImpactReceipt
        {
            Items = items,
            Outcome = ReceiptOutcome.Passed,
            Summary = $"{items.Select(i => i.Service).Distinct().Count()} service(s), {items.Count} item(s), {pending} change(s) pending",
        });
    }
}
