using InfraRelocation.Core.Persistence;

namespace InfraRelocation.Core.Tests.Persistence;

public sealed class InputDigestsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ir-digests-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void VerifyUnchanged_NamesTheFileThatChanged()
    {
        Directory.CreateDirectory(Path.Combine(_root, "ops"));
        File.WriteAllText(Path.Combine(_root, "ops/a.yaml"), "a: 1\n");
        File.WriteAllText(Path.Combine(_root, "ops/b.yaml"), "b: 1\n");
        var digests = new InputDigests(_root);
        Assert.Equal("a: 1\n"u8.ToArray(), digests.Read("ops/a.yaml"));
        digests.Read(Path.Combine(_root, "ops/b.yaml"));
        Assert.Null(digests.Read("ops/c.yaml"));
        digests.VerifyUnchanged();

        File.WriteAllText(Path.Combine(_root, "ops/b.yaml"), "b: 2\n");
        var ex = Assert.Throws<RelocationException>(digests.VerifyUnchanged);
        Assert.Equal("EstateFileChanged", ex.ErrorId);
        Assert.Equal("ops/b.yaml", ex.Target);
        Assert.Contains("ops/b.yaml was changed", ex.Message);

        File.WriteAllText(Path.Combine(_root, "ops/b.yaml"), "b: 1\n");
        File.WriteAllText(Path.Combine(_root, "ops/c.yaml"), "new\n");
        Assert.Contains("ops/c.yaml was created", Assert.Throws<RelocationException>(digests.VerifyUnchanged).Message);

        File.Delete(Path.Combine(_root, "ops/c.yaml"));
        File.Delete(Path.Combine(_root, "ops/a.yaml"));
        Assert.Contains("ops/a.yaml was deleted", Assert.Throws<RelocationException>(digests.VerifyUnchanged).Message);
    }
}
