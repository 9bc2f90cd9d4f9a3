using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Receipts;
using InfraRelocation.Core.Transitions;
using InfraRelocation.Core.Yaml;
using InfraRelocation.Model;
using InfraRelocation.Receipts;

namespace InfraRelocation.Core.Tests.Transitions;

/// <summary>
/// A stage of a change (the preview, the commit) parses each text of a file it edits once: the loader keeps the trees of
/// the files the stage edits for the editor, and the guard and the check after the write reuse the editor's read-back.
/// </summary>
public sealed class ParseOncePerStageTests : IDisposable
{
    private static readonly TransitionEnvironment Env = new() { Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero), Actor = "operator" };
    private static readonly ServiceTransitionRequest ToShadow = new("bookmarks", ServiceStatus.Shadow);
    private readonly SampleCopy _estate = new();

    public ParseOncePerStageTests() => _estate.PrepareSsot("bookmarks");

    public void Dispose() => _estate.Dispose();

    private static TransitionPlan Plan(EstateSnapshot estate) => TransitionPlanner.PlanService(estate, ToShadow, Env);

    [Fact]
    public void APreviewAndItsCommitParseEachTextOfTheFilesTheyEditOnce()
    {
        var layout = _estate.Layout;
        TransitionRun preview;
        using (var log = YamlParseLog.Start())
        {
            preview = TransitionExecutor.Preview(layout, Plan, editing: TransitionPlanner.FilesEdited(layout, ToShadow));
            Assert.Empty(log.ParsedTwice());
            // The original and the edited text, each once (the loader's tree of the original is the editor's).
            Assert.Equal(2, log.Parses(SampleCopy.Manifest));
            Assert.Equal(2, log.Parses(SampleCopy.Registry));
        }
        Assert.Equal([SampleCopy.Manifest, SampleCopy.Registry], preview.Changes.Select(c => c.File).Distinct());

        using (var log = YamlParseLog.Start())
        {
            var run = TransitionExecutor.Commit(layout, preview.Plan, Plan, new TransitionCommitOptions
            {
                Receipts = new ReceiptStore(layout.ReceiptsPath),
                Receipt = r => new ServiceStatusReceipt
                {
                    Service = "bookmarks", Subject = "bookmarks", RunId = "parse-once", Outcome = ReceiptOutcome.Succeeded, EndedUtc = DateTimeOffset.UtcNow,
                },
                AfterCommit = estate => estate.Manifest!.Services.Single(s => s.Service == "bookmarks").Status == ServiceStatus.Shadow ? null : "not moved",
            });
            Assert.True(run.Committed);
            Assert.Null(run.RevertReason);
            Assert.Empty(log.ParsedTwice());
            // The manifest: the original, the edited text the guard judged, and that text with the ledger anchor, which the
            // check after the write reads without parsing it again.
            Assert.Equal(3, log.Parses(SampleCopy.Manifest));
            Assert.Equal(2, log.Parses(SampleCopy.Registry));
        }
    }

    [Fact]
    public void WithoutTheHintTheEditedFileIsParsedTwice_SoTheLogCatchesIt()
    {
        // The counter can fail: a registry edit the preview was not told about is parsed by the loader and again by the editor.
        using var log = YamlParseLog.Start();
        TransitionExecutor.Preview(_estate.Layout, Plan);
        Assert.Equal([SampleCopy.Registry], log.ParsedTwice());
        Assert.Equal(2, log.Texts(SampleCopy.Registry));
        Assert.Equal(3, log.Parses(SampleCopy.Registry));
    }
}
