using InfraRelocation.Core.Estate;

namespace InfraRelocation.Core.Tests.Model;

/// <summary>Each test has its own cache: no other test's loads can evict what these assert is reused.</summary>
public sealed class EstateLoaderCacheTests : IDisposable
{
    private readonly SampleCopy _estate = new();
    private readonly EstateFileCache _cache = new();

    private Estate.EstateSnapshot Load(string root) => EstateLoader.Load(EstateLayoutLoader.Load(root), _cache);

    public void Dispose() => _estate.Dispose();

    [Fact]
    public void UnchangedFilesAreReusedAndChangedOnesReread()
    {
        var first = Load(_estate.Root);
        var second = Load(_estate.Root);
        Assert.Same(first.Manifest, second.Manifest);
        Assert.Equal(first.InputDigests, second.InputDigests);

        TestEstate.Edit(_estate.Root, "ops/bindings/infra.relocation.plan.yaml", t => t.Replace("phase: 1\n", "phase: one\n"));
        var third = Load(_estate.Root);
        Assert.NotSame(first.Manifest, third.Manifest);
        Assert.Same(first.Policy, third.Policy);
        Assert.Contains(third.ValidationFindings, f => f.RuleId == "SCHEMA.WrongType");
        // Findings of a cached file come back too.
        Assert.Equal(third.ValidationFindings, Load(_estate.Root).ValidationFindings);
    }

    [Fact]
    public void AnEstateJudgedBeforeItIsWrittenDoesNotEvictTheFileAsItIs()
    {
        // A preview's guard loads the staged bytes; the commit that follows reads the file as it is from the cache.
        var layout = EstateLayoutLoader.Load(_estate.Root);
        var first = Load(_estate.Root);
        var staged = _estate.Text(SampleCopy.Manifest).Replace("phase: 1\n", "phase: 2\n", StringComparison.Ordinal);
        Assert.NotSame(first.Manifest, EstateLoader.Load(layout, new Dictionary<string, byte[]> { [SampleCopy.Manifest] = System.Text.Encoding.UTF8.GetBytes(staged) }, _cache).Manifest);
        using var log = Yaml.YamlParseLog.Start();
        Assert.Same(first.Manifest, EstateLoader.Load(layout, _cache).Manifest);
        Assert.Equal(0, log.Parses());
    }

    [Fact]
    public void ManyEstatesLoadedInParallelEvictWithoutBreakingLoads()
    {
        // More files than the cache holds, loaded from several threads at once: eviction runs concurrently with
        // inserts and other evictions (it once read a torn snapshot and threw NullReferenceException).
        Assert.True(40 * 10 > 256, "the test must overflow the cache's capacity");
        var copies = Enumerable.Range(0, 40).Select(_ => new SampleCopy()).ToList();
        try
        {
            var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();
            Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 16 }, i =>
            {
                try
                {
                    var estate = Load(copies[i % copies.Count].Root);
                    Assert.NotNull(estate.Manifest);
                    Assert.Empty(estate.ValidationFindings);
                }
                catch (Exception ex)
                {
                    failures.Add(ex);
                }
            });
            Assert.Empty(failures);
            Assert.InRange(_cache.Count, 1, 256);
        }
        finally
        {
            copies.ForEach(c => c.Dispose());
        }
    }
}
