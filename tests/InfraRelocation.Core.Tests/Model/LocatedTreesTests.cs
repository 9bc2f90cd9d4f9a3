using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Governance;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Core.Yaml;

namespace InfraRelocation.Core.Tests.Model;

/// <summary>One stage of a change parses each text once: the loader, the editor, its read-back and the guard share the trees.</summary>
public sealed class LocatedTreesTests
{
    [Fact]
    public void TheSameTextIsParsedOnceAndAnotherTextAgain()
    {
        var trees = new LocatedTrees();
        var first = trees.Parse("a: 1\nb: [x, y]\n", "f.yaml");
        Assert.Same(first, trees.Parse("a: 1\nb: [x, y]\n", "g.yaml", allowAliases: true));
        Assert.Equal(1, trees.Parses);
        var other = Assert.IsType<YMapping>(trees.Parse("a: 2\n", "f.yaml"));
        Assert.NotSame(first, other);
        Assert.Equal("2", Assert.IsType<YScalar>(other["a"]).Value);
        Assert.Equal(2, trees.Parses);
        Assert.Null(trees.Parse("# only a comment\n", "f.yaml"));
    }

    [Fact]
    public void AReaderThatRefusesAliasesGetsTheParsersLocatedRefusal_TheEditorKeepsThem()
    {
        const string text = "a: &x 1\nb: *x\n";
        var trees = new LocatedTrees();
        var kept = Assert.IsType<YMapping>(trees.Parse(text, "f.yaml", allowAliases: true));
        Assert.IsType<YAlias>(kept["b"]);
        var refused = Assert.Throws<RelocationException>(() => trees.Parse(text, "f.yaml"));
        var direct = Assert.Throws<RelocationException>(() => LocatedYamlReader.Parse(text, "f.yaml"));
        Assert.Equal((direct.ErrorId, direct.Message, direct.Location), (refused.ErrorId, refused.Message, refused.Location));
    }

    [Fact]
    public void AParseErrorIsRaisedToEveryReaderAndNotKept()
    {
        var trees = new LocatedTrees();
        var first = Assert.Throws<RelocationException>(() => trees.Parse("a: [1, 2\n", "f.yaml"));
        var second = Assert.Throws<RelocationException>(() => trees.Parse("a: [1, 2\n", "g.yaml"));
        Assert.Equal("f.yaml", first.Location?.File);
        Assert.Equal("g.yaml", second.Location?.File);
        Assert.Equal(0, trees.Parses);
    }

    [Fact]
    public void ReuseGivesAHeldTreeAndKeepsNothingItParsed()
    {
        var trees = new LocatedTrees();
        var held = trees.Parse("a: 1\n", "f.yaml", allowAliases: true);
        Assert.Same(held, trees.Reuse("a: 1\n", "f.yaml"));
        var passing = trees.Reuse("b: 2\n", "f.yaml");
        Assert.Equal("2", Assert.IsType<YScalar>(Assert.IsType<YMapping>(passing)["b"]).Value);
        Assert.NotSame(passing, trees.Reuse("b: 2\n", "f.yaml"));
        Assert.Equal(1, trees.Parses);
        trees.Parse("c: &x 1\nd: *x\n", "f.yaml", allowAliases: true);
        Assert.Equal("YamlAliasNotAllowed", Assert.Throws<RelocationException>(() => trees.Reuse("c: &x 1\nd: *x\n", "f.yaml")).ErrorId);
    }

    [Fact]
    public void InOneStageTheEditorParsesEachTextOnce_AndTheGuardJudgesTheTreeItReadBack()
    {
        using var sample = new SampleCopy();
        var layout = sample.Layout;
        using var tx = EstateTransaction.Preview(layout.Root);
        var estate = EstateLoader.Load(layout, tx.Trees);
        Assert.Equal(0, tx.Trees.Parses);   // the loader lets each tree go

        tx.EditYaml(SampleCopy.Manifest, [YamlEdit.Set("active_relocation.updated_at", "2026-11-30T00:00:00Z")]);
        Assert.Equal(2, tx.Trees.Parses);   // the original, and the edited text read back
        tx.EditYaml(SampleCopy.Manifest, [YamlEdit.Set("active_relocation.approved_by", "cab-chair")]);
        Assert.Equal(3, tx.Trees.Parses);   // the original again (reused), and the new result read back

        var changed = tx.ChangedFiles.ToDictionary(p => p, p => tx.Read(p)!, StringComparer.Ordinal);
        var verdict = MutationGuard.Evaluate(estate, changed, DateTimeOffset.UtcNow, null, tx.Trees);
        Assert.Equal(3, tx.Trees.Parses);   // the guard judged the tree the editor read back
        Assert.True(verdict.Passed, string.Join("\n", verdict.ErrorsAfter));
        Assert.Equal("cab-chair", EstateLoader.Load(layout, changed, tx.Trees).Manifest!.ActiveRelocation!.ApprovedBy);
    }

    [Fact]
    public void TheLoaderKeepsTheTreesOfTheFilesTheStageEditsAndNoOthers()
    {
        using var sample = new SampleCopy();
        var layout = sample.Layout;
        using var tx = EstateTransaction.Preview(layout.Root);
        using var log = YamlParseLog.Start();
        tx.Trees.Editing([SampleCopy.Manifest]);
        EstateLoader.Load(layout, tx.Trees);
        Assert.Equal(1, tx.Trees.Parses);   // the manifest's tree stays with the stage; every other file's was let go
        var parsed = log.Parses();

        tx.EditYaml(SampleCopy.Manifest, [YamlEdit.Set("active_relocation.approved_by", "cab-chair")]);
        Assert.Equal(parsed + 1, log.Parses());   // only the result, read back: the editor reused the loader's tree
        Assert.Empty(log.ParsedTwice());
    }
}
