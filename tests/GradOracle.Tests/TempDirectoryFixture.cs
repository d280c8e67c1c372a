namespace GradOracle.Tests;

/// <summary>A fresh temporary directory per test, removed after it.</summary>
public abstract class TempDirectoryFixture
{
    /// <summary>The test's directory.</summary>
    protected string Dir { get; private set; } = "";

    [SetUp]
    public void MakeDirectory()
    {
        Dir = Path.Combine(Path.GetTempPath(), $"gradoracle-{GetType().Name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Dir);
    }

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(Dir, true);
}
