using GradOracle.Tensors;

namespace GradOracle.Tests.Tensors;

public class OrderedSumsTests
{
    // Added left to right, 1 + 1e16 rounds to 1e16 and the first 1 is lost: 5, where the exact sum is 6.
    private static readonly double[] Cancelling = [1, 1e16, -1e16, 1, 1, 1, 1, 1];

    [Test]
    public void Sums_add_in_index_order_whatever_the_vector_width()
    {
        Assert.That(OrderedSums.Sum(Cancelling), Is.EqualTo(5.0));
        Assert.That(OrderedSums.SumOfSquares([3, 4]), Is.EqualTo(25.0));
        Assert.That(OrderedSums.Dot(Cancelling, [1, 1, 1, 1, 1, 1, 1, 1]), Is.EqualTo(5.0));
    }

    [Test]
    public void A_dot_product_of_unequal_lengths_is_refused()
    {
        Assert.That(() => OrderedSums.Dot([1, 2], [1]), Throws.ArgumentException);
    }
}
