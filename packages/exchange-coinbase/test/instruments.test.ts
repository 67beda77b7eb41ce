import { describe, expect, it } from 'vitest';
import { instrumentsFromProducts, marketDataProductId, trimDecimal } from '../src/instruments.js';

const product = (extra: Record<string, unknown> = {}) => ({ product_id: 'BTC-USD', price_increment: '0.01000000', base_increment: '0.00000001', ...extra });

describe('Coinbase products -> instruments', () => {
  it.each([
    ['0.01000000', '0.01'], ['1.00000000', '1'], ['0.00000000', '0'], ['10', '10'], ['100.50', '100.5'],
  ])('trimDecimal(%s) = %s', (a, b) => expect(trimDecimal(a)).toBe(b));

  it('base and quote fall back to the halves of the product id; min notional defaults to 0', () => {
    const [i] = instrumentsFromProducts('coinbase', { products: [product({ base_currency_id: '', quote_currency_id: '' })] }, ['BTC-USD']);
    expect(i).toMatchObject({ base: 'BTC', quote: 'USD', tickSize: '0.01', lotSize: '0.00000001', minNotional: '0' });
    const [odd] = instrumentsFromProducts('coinbase', { products: [product({ product_id: 'WEIRD' })] }, ['WEIRD']);
    expect(odd).toMatchObject({ base: 'WEIRD', quote: '' });
  });

  it('a product with a bad increment (not a decimal string, negative, exponent form, too long) is unknown, never a guessed grid', () => {
    for (const bad of [{ price_increment: 0.01 }, { price_increment: '-0.01' }, { base_increment: '1e-8' }, { base_increment: `0.${'0'.repeat(40)}1` }, { quote_min_size: 'abc' }, { product_id: '' }]) {
      expect(() => instrumentsFromProducts('coinbase', { products: [product(bad)] }, ['BTC-USD']), JSON.stringify(bad)).toThrow(/unknown product\(s\) BTC-USD/);
    }
  });

  it('names every missing product; non-object entries are skipped; a non-array products is refused', () => {
    expect(() => instrumentsFromProducts('coinbase', { products: [null, 7, 'x', product()] }, ['BTC-USD', 'ETH-USD', 'SOL-USD'])).toThrow(/unknown product\(s\) ETH-USD, SOL-USD/);
    expect(() => instrumentsFromProducts('coinbase', { products: 'BTC-USD' }, ['BTC-USD'])).toThrow(/no products array/);
    expect(() => instrumentsFromProducts('coinbase', null, ['BTC-USD'])).toThrow(/no products array/);
  });

  it.each([
    ['BTC-USDC', 'BTC-USD'], ['ETH-USDC', 'ETH-USD'], ['BTC-USD', 'BTC-USD'], ['USDC-EUR', 'USDC-EUR'], ['ETH-BTC', 'ETH-BTC'],
    // the -USDC books Coinbase's WebSocket docs name as available on all channels keep their id
    ['USDT-USDC', 'USDT-USDC'], ['EURC-USDC', 'EURC-USDC'], ['-USDC', '-USDC'],
  ])('market data of %s is subscribed and named by the venue as %s', (configured, venue) => expect(marketDataProductId(configured)).toBe(venue));
});
