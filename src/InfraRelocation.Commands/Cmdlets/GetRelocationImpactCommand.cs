using InfraRelocation.Commands.Completers;
using InfraRelocation.Core.Gates;

namespace InfraRelocation.Commands.Cmdlets;

/// <summary>Get-RelocationImpact: the delta matrix, which file must say what for each service (capability infra.relocation.impact).</summary>
[Cmdlet(VerbsCommon.Get, "RelocationImpact")]
[OutputType(typeof(ImpactItem), typeof(ImpactReceipt))]
public sealed class GetRelocationImpactCommand : EstateCmdlet
{
    /// <summary>Only these services; binds from the pipeline (names, or the manifest's service objects by property name).</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ServiceCompleter))]
    public string[]? Service { get; set; }

    private readonly List<string> _services = [];

    /// <summary>Also planned services: what must change before they move.</summary>
    [Parameter]
    public SwitchParameter IncludePlanned { get; set; }

    /// <summary>Only the items that still need a change.</summary>
    [Parameter]
    public SwitchParameter Pending { get; set; }

    protected override void ProcessRecord() => _services.AddRange(Service ?? []);

    protected override void EndProcessing()
    {
        var estate = Run(() => EstateLoader.Load(Layout));
        var run = BeginRun("infra.relocation.impact", RunMode.Read);
        run.RecordInputs(estate.InputDigests);
        var wanted = _services.Count == 0 ? [null] : _services.Distinct(StringComparer.Ordinal).ToList<string?>();
        var items = new List<ImpactItem>();
        foreach (var service in wanted)
        {
            if (service is not null && estate.Manifest?.Services.Any(s => s.Service == service) != true)
            {
                WriteRelocationError(new RelocationException("ServiceNotFound", FailureKind.ObjectNotFound,
                    $"The manifest has no service {service}.", estate.Manifest?.Location, service));
                continue;
            }
            items.AddRange(ImpactAnalyzer.Analyze(estate, IncludePlanned || service is not null, service)
                .Where(i => !Pending || !i.Satisfied));
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
